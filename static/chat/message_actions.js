// What a user can do with a message: a toolbar on hover, focus or tap (react, reply, edit, delete),
// editing in place, the "replying to" bar of the composer, and jumping to a reply's original.
// Frames go out through `send`; the server's `update` frames change what is shown.

import { gettext, interpolate, ngettext } from "./i18n.js";
import { openReactionPicker, toggleReaction } from "./reactions.js";

const EXCERPT_CHARS = 140;
const FLASH_MS = 2400;
const HOLE_FILL = 1000; // messages filled in below a jump without asking
const SVG_NS = "http://www.w3.org/2000/svg";
const ICONS = {
  react: "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20Zm0 2a8 8 0 1 1 0 16 8 8 0 0 1 0-16Zm-3.5 5a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3Zm7 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3ZM7.8 14a4.8 4.8 0 0 0 8.4 0l-1.7-1a2.9 2.9 0 0 1-5 0Z",
  reply: "M10 9V5l-7 7 7 7v-4.1c5 0 8.5 1.6 11 5.1-1-5-4-10-11-11Z",
  edit: "M3 17.25V21h3.75L17.8 9.94l-3.75-3.75L3 17.25Zm17.7-10.2a1 1 0 0 0 0-1.41l-2.34-2.34a1 1 0 0 0-1.41 0l-1.83 1.83 3.75 3.75 1.83-1.83Z",
  delete: "M6 19a2 2 0 0 0 2 2h8a2 2 0 0 0 2-2V7H6v12ZM19 4h-3.5l-1-1h-5l-1 1H5v2h14V4Z",
};

const ERRORS = {
  not_author: () => gettext("You can only change your own messages."),
  edit_window_closed: () => gettext("This message can no longer be edited."),
  delete_not_allowed: () => gettext("Deleting messages is turned off here."),
  too_many_reactions: () => gettext("This message has as many different reactions as it can take."),
  message_deleted: () => gettext("That message was deleted."),
  no_such_message: () => gettext("That message does not exist (any more)."),
};

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function icon(name) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "18");
  svg.setAttribute("height", "18");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", ICONS[name]);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

/** A one-line excerpt of a message, as the server makes reply previews. */
export function excerptOf(body) {
  const flat = String(body || "").replace(/\s+/g, " ").trim();
  return flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS - 1)}…` : flat;
}

/**
 * Wire the message actions. `rooms` maps id -> Room; `send(frame)` sends (false when offline);
 * `limits()` is the server's `hello` limits; `confirm(text, label)` resolves to a boolean; `toast(text, kind)`;
 * `newClientId()` makes idempotency keys; `historyPage` is the page size to ask for around a seq.
 */
export function setupMessageActions({ logs, input, me, rooms, send, limits, confirm, toast, newClientId, historyPage,
  loadMore }) {
  const editors = new Map(); // client_id -> {room, seq, row, editor}
  const replies = new Map(); // room id -> {seq, author, excerpt}
  let shownRoom = null;

  // ------------------------------------------------------------ the toolbar
  const toolbar = el("div", "msg-actions");
  toolbar.setAttribute("role", "toolbar");
  toolbar.setAttribute("aria-label", gettext("Message actions"));
  const buttons = {};
  for (const [action, label] of [["react", gettext("Add a reaction")], ["reply", gettext("Reply")],
    ["edit", gettext("Edit")], ["delete", gettext("Delete")]]) {
    const btn = el("button", `msg-action msg-action-${action}`);
    btn.type = "button";
    btn.dataset.action = action;
    btn.title = label;
    btn.setAttribute("aria-label", label);
    btn.append(icon(action));
    buttons[action] = btn;
    toolbar.append(btn);
  }

  const roomOf = (row) => rooms.get(row.closest(".log")?.dataset.room);
  const messageOf = (row) => roomOf(row)?.messages.get(Number(row.dataset.seq));

  function canEdit(msg) {
    if (!msg || msg.author !== me || msg.deleted) return false;
    const window = limits().edit_window_seconds;
    if (window === 0) return false;
    return !(window > 0 && Date.now() - msg.created_at > window * 1000);
  }

  const canDelete = (msg) => Boolean(msg) && msg.author === me && !msg.deleted && limits().allow_delete_own !== false;

  function showToolbar(row) {
    const msg = row && row.dataset.status === "confirmed" && !row.classList.contains("editing") ? messageOf(row) : null;
    if (!msg || msg.deleted) {
      hideToolbar();
      return;
    }
    buttons.edit.hidden = !canEdit(msg);
    buttons.delete.hidden = !canDelete(msg);
    if (toolbar.parentElement !== row) row.append(toolbar);
  }

  function hideToolbar() {
    toolbar.remove();
  }

  logs.addEventListener("mouseover", (e) => {
    const row = e.target.closest(".msg");
    if (row && toolbar.parentElement !== row) showToolbar(row);
  });
  logs.addEventListener("mouseleave", () => {
    if (!toolbar.contains(document.activeElement)) hideToolbar();
  });
  logs.addEventListener("focusin", (e) => {
    const row = e.target.closest(".msg");
    if (row && !toolbar.contains(e.target)) showToolbar(row);
  });

  logs.addEventListener("click", (e) => {
    const quote = e.target.closest(".reply-quote");
    if (quote) {
      const room = roomOf(quote);
      if (room) jumpTo(room, Number(quote.dataset.seq));
      return;
    }
    const chip = e.target.closest(".reaction");
    const row = e.target.closest(".msg");
    if (chip && row) {
      toggleReaction({ send, me, room: roomOf(row), msg: messageOf(row), emoji: chip.dataset.emoji });
      return;
    }
    const add = e.target.closest(".reaction-add");
    if (add && row) {
      react(row, add);
      return;
    }
    const action = e.target.closest(".msg-action");
    if (action && row) {
      runAction(action.dataset.action, row, action);
      return;
    }
    // A tap on a message (phones have no hover) shows its toolbar.
    if (row && !e.target.closest("a, button, textarea, .msg-editor")) showToolbar(row);
  });

  function runAction(action, row, anchor) {
    const room = roomOf(row);
    const msg = messageOf(row);
    if (!room || !msg) return;
    if (action === "react") react(row, anchor);
    else if (action === "reply") startReply(room, msg);
    else if (action === "edit") startEdit(room, row);
    else if (action === "delete") deleteMessage(room, msg);
  }

  function react(row, anchor) {
    const room = roomOf(row);
    const msg = messageOf(row);
    if (room && msg) openReactionPicker({ anchor, send, me, room, msg });
  }

  // ------------------------------------------------------------ edit in place
  function startEdit(room, row) {
    const msg = messageOf(row);
    if (!canEdit(msg) || row.querySelector(".msg-editor")) return;
    hideToolbar();
    row.classList.add("editing");
    const editor = el("div", "msg-editor");
    const area = el("textarea", "msg-editor-input");
    area.value = msg.body;
    area.rows = Math.min(10, msg.body.split("\n").length + 1);
    area.setAttribute("aria-label", gettext("Edit message"));
    const hint = el("div", "msg-editor-hint");
    const error = el("span", "msg-editor-error");
    error.setAttribute("role", "alert");
    const cancel = el("button", "btn btn-ghost btn-sm", gettext("Cancel"));
    cancel.type = "button";
    const save = el("button", "btn btn-primary btn-sm", gettext("Save"));
    save.type = "button";
    hint.append(el("span", "msg-editor-keys", gettext("Enter to save · Esc to cancel")), error, cancel, save);
    editor.append(area, hint);
    row.querySelector(".msg-body").after(editor);
    const state = { room, seq: msg.seq, row, editor, error, clientId: null };
    const close = () => {
      if (state.clientId) editors.delete(state.clientId);
      editor.remove();
      row.classList.remove("editing");
    };
    const submit = () => {
      const body = area.value.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "");
      const current = room.messages.get(state.seq);
      if (!current || body === current.body) {
        close();
        return;
      }
      if (!body.trim()) {
        error.textContent = gettext("A message cannot be empty; delete it instead.");
        return;
      }
      if (body.length > limits().max_body_chars) {
        error.textContent = interpolate(gettext("Messages can be at most %(max)s characters."),
          { max: limits().max_body_chars });
        return;
      }
      if (state.clientId) editors.delete(state.clientId);
      state.clientId = newClientId();
      if (!send({ type: "edit", room: room.id, seq: state.seq, body, client_id: state.clientId })) {
        error.textContent = gettext("Offline: not saved yet.");
        return;
      }
      editors.set(state.clientId, { ...state, close });
      error.textContent = "";
      editor.dataset.state = "saving";
    };
    area.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        submit();
      } else if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        close();
        input.focus();
      }
    });
    cancel.addEventListener("click", close);
    save.addEventListener("click", submit);
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
  }

  // Arrow up in an empty composer edits one's last message (as in Slack).
  input.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowUp" || input.value || e.isComposing || !shownRoom) return;
    const room = shownRoom;
    for (let i = room.order.length - 1; i >= 0; i -= 1) {
      const msg = room.messages.get(room.order[i]);
      if (msg.author !== me) continue;
      if (canEdit(msg)) {
        e.preventDefault();
        startEdit(room, room.rows.get(msg.seq));
      }
      return;
    }
  });

  // ------------------------------------------------------------ delete
  async function deleteMessage(room, msg) {
    hideToolbar();
    const ok = await confirm(gettext("Delete this message? Everyone will see that a message was deleted."),
      gettext("Delete"));
    if (ok && !send({ type: "delete", room: room.id, seq: msg.seq, client_id: newClientId() })) {
      toast(gettext("Offline: the message was not deleted."), "error");
    }
  }

  // ------------------------------------------------------------ reply
  const bar = el("div", "reply-bar");
  bar.hidden = true;
  const barText = el("div", "reply-bar-text");
  const barCancel = el("button", "reply-bar-cancel", "×");
  barCancel.type = "button";
  barCancel.title = gettext("Cancel reply");
  barCancel.setAttribute("aria-label", gettext("Cancel reply"));
  bar.append(barText, barCancel);
  input.closest("form").prepend(bar);
  barCancel.addEventListener("click", () => {
    if (shownRoom) replies.delete(shownRoom.id);
    renderBar();
    input.focus();
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && shownRoom && replies.has(shownRoom.id)) {
      replies.delete(shownRoom.id);
      renderBar();
    }
  });

  function renderBar() {
    const reply = shownRoom ? replies.get(shownRoom.id) : null;
    bar.hidden = !reply;
    if (!reply) return;
    const who = el("strong", null, reply.author);
    const lead = gettext("Replying to %(name)s").split("%(name)s");
    barText.replaceChildren(lead[0], who, lead[1] || "", el("span", "reply-bar-excerpt", reply.excerpt));
  }

  function startReply(room, msg) {
    hideToolbar();
    replies.set(room.id, { seq: msg.seq, author: msg.author, excerpt: excerptOf(msg.body) });
    renderBar();
    input.focus();
  }

  // ------------------------------------------------------------ jump to a message
  function flash(row) {
    row.scrollIntoView({ block: "center" });
    row.classList.remove("flash");
    void row.offsetWidth; // restart the animation
    row.classList.add("flash");
    setTimeout(() => row.classList.remove("flash"), FLASH_MS);
  }

  /** Scroll to message `seq` of `room` and highlight it; load the page around it when it is not loaded. */
  function jumpTo(room, seq, attempt = 0) {
    if (!Number.isInteger(seq)) return;
    const row = room.rows.get(seq);
    if (row) {
      flash(row);
      return;
    }
    if (room.historyRequest || !room.joined) {
      if (attempt < 25) setTimeout(() => jumpTo(room, seq, attempt + 1), 400); // a page is on its way
      return;
    }
    room.jumpTarget = seq;
    room.historyRequest = "around";
    if (!send({ type: "history", room: room.id, around: seq, limit: historyPage })) room.historyRequest = null;
  }

  /** The `history` page around a seq asked for by jumpTo. */
  function onAroundPage(room, frame) {
    const messages = Array.isArray(frame.messages) ? frame.messages : [];
    const oldestBefore = room.oldestSeq;
    room.insert(messages);
    const seqs = messages.map((m) => m.seq).filter(Number.isInteger);
    if (seqs.length && (oldestBefore === null || Math.min(...seqs) <= oldestBefore)) {
      room.hasMore = Boolean(frame.has_more);
      room.setTop(room.hasMore ? "" : "start");
    }
    room.jumped = true; // app.js fills the hole between this page and the newest block
    const row = room.rows.get(room.jumpTarget);
    room.jumpTarget = null;
    if (row) flash(row);
    else toast(gettext("The original message is not available."), "error");
  }

  // A big gap (a jump far back, e.g. from search) is filled HOLE_FILL messages at a time, on request.
  function holeToFill(room) {
    const hole = room.hole();
    const marker = room.list.querySelector(".log-gap");
    if (!hole) {
      marker?.remove();
      return null;
    }
    if (hole.size <= HOLE_FILL || room.holeBudget > 0) {
      marker?.remove();
      return hole.top;
    }
    const row = room.rows.get(hole.top);
    if (marker?.parentElement === row) return null;
    marker?.remove();
    const gap = el("div", "log-gap");
    const count = Math.min(HOLE_FILL, hole.size);
    const more = el("button", "btn btn-ghost btn-sm",
      interpolate(ngettext("Load %(count)s more message", "Load %(count)s more messages", count), { count }));
    more.type = "button";
    more.addEventListener("click", () => {
      room.holeBudget = HOLE_FILL;
      more.disabled = true;
      loadMore(room);
    });
    gap.append(more);
    row.prepend(gap);
    return null;
  }

  /** A page that went into the gap spends the budget a "Load more" click gave. */
  function holePageLoaded(room, count) {
    if (room.holeBudget > 0) room.holeBudget -= count;
  }

  return {
    holeToFill,
    holePageLoaded,
    /** The reply the next send carries (and the bar is cleared), or null. */
    takeReply(room) {
      const reply = replies.get(room.id) || null;
      replies.delete(room.id);
      renderBar();
      return reply;
    },
    /** The open room changed: show its reply bar (each room keeps its own). */
    roomShown(room) {
      shownRoom = room;
      hideToolbar();
      renderBar();
    },
    jumpTo,
    onAroundPage,
    /** `changed`: an edit of ours was stored; close its editor. */
    onChanged(frame) {
      const entry = frame.client_id ? editors.get(frame.client_id) : null;
      if (entry) entry.close();
    },
    /** Errors of edit, delete, react and unreact; true when handled here. */
    onError(frame) {
      if (!["edit", "delete", "react", "unreact"].includes(frame.ref)) return false;
      const text = (ERRORS[frame.code] || (() => frame.detail || frame.code))();
      const entry = frame.client_id ? editors.get(frame.client_id) : null;
      if (entry) {
        entry.error.textContent = text;
        delete entry.editor.dataset.state;
      } else {
        toast(text, "error");
      }
      return true;
    },
  };
}
