// The chat page: speaks docs/protocol.md over one socket. The server owns the room list and the
// read markers (the `rooms` frame); each joined room keeps its messages in order by seq.

import {
  applyChangesPage, applyUpdate, awaitChanges, changesPending, changesRequest, joinCursor, noteJoined,
} from "./changes.js";
import { errorText, setupDialogs } from "./dialogs.js";
import { gettext, interpolate, ngettext } from "./i18n.js";
import { setupMentionComplete } from "./mention_complete.js";
import { setupMessageActions } from "./message_actions.js";
import { mentionsMe } from "./message_parts.js";
import { setupNotifications } from "./notify.js";
import { newClientId, Prefs } from "./prefs.js";
import { refreshTimes } from "./render.js";
import { Room } from "./room.js";
import { setupSearch } from "./search.js";
import { ChatSocket, socketUrl } from "./socket.js";
import * as ui from "./ui.js";

const config = JSON.parse(document.getElementById("chat-config").textContent);
const me = config.user;
const prefs = new Prefs(me);
const socket = new ChatSocket(socketUrl(config.wsPath));
const rooms = new Map(); // id -> Room: the sidebar's rooms, plus one being opened by link or directory
const $ = (id) => document.getElementById(id);
const input = $("message-input");
const logs = $("logs");
const newMessagesBtn = $("new-messages");

const ACK_TIMEOUT_MS = 12000;
const RETRY_ROOM_MS = 3000;
const TYPING_SEND_EVERY_MS = 2500;
const TYPING_SHOWN_MS = 5000;
const READ_EVERY_MS = 1000; // at most one `read` per room per second
const REVOKED_REDIRECT_MS = 2500;
let limits = { max_body_chars: config.maxBodyChars, max_rooms: 50, history_page_max: 100 };
let active = null;
let lastTypingSent = 0;
let wanted = config.initialRoom || prefs.active; // opened once the first `rooms` frame arrives
let listedOnce = false;
const chrome = ui.setupChrome(me);
const dialogs = setupDialogs({ send: (frame) => socket.send(frame), joinRoom: openDirectoryRoom, openDirect, me });
setupMentionComplete({ input, me, activeRoom: () => activeRoom() }); // before the composer's keys: Enter picks a name
const actions = setupMessageActions({
  logs, input, me, rooms, send: (frame) => socket.send(frame), limits: () => limits, confirm: dialogs.confirm,
  toast: ui.toast, newClientId, historyPage: config.historyPage, loadMore: (room) => maybeLoadOlder(room),
});
const notifier = setupNotifications({
  me, prefs, container: document.querySelector(".sidebar-actions"), toast: ui.toast,
  openRoom: (id) => rooms.has(id) && activate(id),
});

const search = setupSearch({
  send: (frame) => socket.send(frame), rooms, activeRoom: () => activeRoom(),
  openMessage(id, seq, name) { // a search result: its room (a public one the user is not in, opened by id)
    const room = upsertRoom(rooms.has(id) ? { room: id } : { room: id, name }, false);
    activate(id);
    chrome.setSidebar(false);
    actions.jumpTo(room, seq);
  },
});

// ------------------------------------------------------------------ rooms
function activeRoom() {
  return active ? rooms.get(active) : null;
}

function refreshSidebar() {
  ui.renderRoomList(rooms, active, (id) => {
    activate(id);
    chrome.setSidebar(false);
  });
}

/** Add or refresh a room from an entry ({room, name, kind, ...}); `listed` puts it in the sidebar. */
function upsertRoom(entry, listed) {
  let room = rooms.get(entry.room);
  if (room) {
    room.applyEntry(entry);
  } else {
    room = new Room(entry, me);
    room.log.addEventListener("scroll", () => onScroll(room), { passive: true });
    logs.append(room.log);
    rooms.set(room.id, room);
  }
  if (listed) room.listed = true;
  if (room.id === active) ui.showRoomHeader(room);
  return room;
}

function dropRoom(room) {
  clearTimeout(room.readTimer);
  room.log.remove();
  rooms.delete(room.id);
  if (room.id === active) {
    const next = [...rooms.values()].find((r) => r.listed);
    activate(next ? next.id : null);
  } else {
    refreshSidebar();
  }
}

function joinRoom(room) {
  // After a reconnect, `after` makes the server send only what we missed (as catchup pages).
  const frame = { type: "join", room: room.id };
  if (room.synced) {
    Object.assign(frame, joinCursor(room)); // `after` and `after_change`
    room.catchupSince = Date.now();
  }
  room.joining = socket.send(frame);
}

/** Join a room on this socket; `evict` makes room by leaving the room looked at longest ago. */
function ensureJoined(room, evict) {
  if (room.joined || room.joining || !socket.isOpen) return;
  const joined = [...rooms.values()].filter((r) => r.joined || r.joining);
  if (joined.length >= limits.max_rooms) {
    if (!evict) return;
    const oldest = joined.filter((r) => r.id !== active).sort((a, b) => a.lastViewed - b.lastViewed)[0];
    if (!oldest) return;
    socket.send({ type: "leave", room: oldest.id }); // the membership stays; the room rejoins when opened
    oldest.joined = oldest.joining = false;
  }
  joinRoom(room);
}

/** On connect: the open room first, then the most recently active ones, up to the server's limit. */
function joinRooms() {
  const order = [...rooms.values()].sort((a, b) => (b.lastAt || 0) - (a.lastAt || 0));
  const current = activeRoom();
  if (current) ensureJoined(current, true);
  for (const room of order) ensureJoined(room, false);
}

function activate(id) {
  const previous = activeRoom();
  if (previous) previous.savedScroll = previous.isAtBottom() ? null : previous.log.scrollTop;
  for (const room of rooms.values()) room.log.hidden = room.id !== id;
  active = rooms.has(id) ? id : null;
  prefs.active = active;
  const room = activeRoom();
  ui.showRoomHeader(room);
  actions.roomShown(room);
  newMessagesBtn.hidden = true;
  if (room) {
    if (room !== previous) room.setMarker(room.unread > 0 ? room.readSeq : null);
    room.lastViewed = Date.now();
    ensureJoined(room, true);
    if (room.savedScroll == null) room.scrollToBottom();
    else room.log.scrollTop = room.savedScroll;
    markRead(room);
    const url = config.roomUrl.replace("ROOM", room.id);
    if (location.pathname !== url) history.replaceState(null, "", url);
    maybeLoadOlder(room);
  } else if (location.pathname !== config.indexUrl) {
    history.replaceState(null, "", config.indexUrl);
  }
  ui.renderPresence(room, me);
  ui.renderTyping(room);
  refreshSidebar();
}

/** A room picked in the directory: join it (public rooms make the user a member) and open it. */
function openDirectoryRoom(entry) {
  upsertRoom({ room: entry.room, name: entry.name, topic: entry.topic, kind: "public", last_seq: entry.last_seq },
    entry.joined);
  activate(entry.room);
  chrome.setSidebar(false);
}

function openDirect(user) {
  return socket.send({ type: "open_dm", user });
}

// ------------------------------------------------------------------ read markers
/** The user sees the bottom of the open room: move the read marker to the newest seq seen. */
function markRead(room) {
  if (room.id !== active || document.hidden || !room.isAtBottom()) return;
  newMessagesBtn.hidden = true;
  if (!room.synced || room.newestSeq <= room.readSeq) return;
  room.readSeq = room.newestSeq;
  flushRead(room);
  refreshSidebar();
}

/** Send the marker now, or once READ_EVERY_MS has passed since the last `read` of this room. */
function flushRead(room) {
  if (room.readTimer || room.readSeq <= room.serverReadSeq) return;
  const wait = Math.max(0, room.readSentAt + READ_EVERY_MS - Date.now());
  room.readTimer = setTimeout(() => {
    room.readTimer = null;
    if (rooms.get(room.id) !== room || room.readSeq <= room.serverReadSeq) return;
    if (socket.send({ type: "read", room: room.id, seq: room.readSeq })) {
      room.serverReadSeq = room.readSeq;
      room.readSentAt = Date.now();
    } // else: sent again when the room is re-joined
  }, wait);
}

// ------------------------------------------------------------------ messages
/** Messages that arrived live or by catchup: read marker, auto-scroll or the "new messages" button. */
function showNew(room, added, wasAtBottom) {
  if (!added.length) return;
  for (const msg of added) {
    room.typers.delete(msg.author);
    if (msg.author === me) room.readSeq = Math.max(room.readSeq, msg.seq); // one's own messages are read
  }
  const isActive = room.id === active;
  if (isActive && (wasAtBottom || added.some((m) => m.author === me))) room.scrollToBottom();
  if (isActive && !document.hidden && room.isAtBottom()) markRead(room);
  else if (isActive && !room.isAtBottom()) newMessagesBtn.hidden = false;
  if (isActive) ui.renderTyping(room);
  refreshSidebar();
}

function requestCatchup(room) {
  room.catchupSince = Date.now();
  socket.send({ type: "catchup", room: room.id, after: room.lastSeq });
}

function onScroll(room) {
  if (room.id !== active) return;
  if (room.isAtBottom()) markRead(room);
  maybeLoadOlder(room);
}

function maybeLoadOlder(room) {
  const hole = actions.holeToFill(room); // after a jump to an older message: fill in below it first
  if (!room.synced || !(room.hasMore || hole) || room.historyRequest || !room.joined || !socket.isOpen) return;
  const nearTop = room.log.scrollTop < 200;
  const notScrollable = room.log.scrollHeight <= room.log.clientHeight + 4;
  if (room.id !== active || !(nearTop || notScrollable || hole)) return;
  room.historyRequest = "older";
  if (!hole) room.setTop("loading");
  const frame = { type: "history", room: room.id, limit: config.historyPage };
  if (room.oldestSeq !== null) frame.before = hole || room.oldestSeq;
  socket.send(frame);
}

function onHistory(room, frame) {
  const kind = room.historyRequest;
  room.historyRequest = null;
  if (kind === "around") {
    actions.onAroundPage(room, frame);
    setTimeout(() => maybeLoadOlder(room), 0);
    return;
  }
  const messages = Array.isArray(frame.messages) ? frame.messages : [];
  room.hasMore = Boolean(frame.has_more);
  if (kind === "older") {
    // Keep the text on screen where it is while older rows are added above it.
    const anchor = room.firstVisibleRow()?.querySelector(".msg-body");
    const top = anchor?.getBoundingClientRect().top;
    room.insert(messages);
    actions.holePageLoaded(room, messages.length);
    room.setTop(room.hasMore ? "" : "start");
    if (anchor) room.log.scrollTop += anchor.getBoundingClientRect().top - top;
  } else {
    const atBottom = room.isAtBottom();
    const added = room.insert(messages);
    room.markSynced(messages);
    room.setTop(room.hasMore ? "" : "start");
    if (room.id === active && (atBottom || room.savedScroll == null)) room.scrollToBottom();
    showNew(room, added, true);
  }
  setTimeout(() => maybeLoadOlder(room), 0);
}

function sendPending(room, clientId) {
  const entry = room.pending.get(clientId);
  if (!entry) return;
  room.setPendingStatus(clientId, "pending");
  if (!socket.isOpen || !room.joined) return; // sent again once the room is re-joined
  socket.send({ type: "send", room: room.id, body: entry.msg.body, client_id: clientId, reply_to: entry.msg.reply_to });
  const stamp = (entry.sentAt = Date.now());
  setTimeout(() => {
    const still = room.pending.get(clientId);
    if (still && still.sentAt === stamp && still.msg.status === "pending" && socket.isOpen) {
      room.setPendingStatus(clientId, "failed", gettext("No answer from the server."));
    }
  }, ACK_TIMEOUT_MS);
}

function submitMessage() {
  const room = activeRoom();
  // The store refuses control characters other than newline and tab.
  const body = input.value.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "");
  if (!room || !body.trim()) return;
  if (body.length > limits.max_body_chars) {
    const max = limits.max_body_chars;
    ui.toast(interpolate(ngettext("Messages can be at most %(count)s character.", "Messages can be at most %(count)s characters.", max), { count: max }), "error");
    return;
  }
  input.value = "";
  autoGrow();
  const clientId = newClientId();
  const reply = actions.takeReply(room);
  room.addPending(body, clientId, reply ? {
    reply_to: reply.seq, reply_preview: { seq: reply.seq, author: reply.author, excerpt: reply.excerpt, deleted: false },
  } : {});
  room.scrollToBottom();
  sendPending(room, clientId);
}

function requestFirstPage(room) {
  if (room.synced || room.historyRequest) return;
  room.historyRequest = "initial";
  socket.send({ type: "history", room: room.id, limit: config.historyPage });
}

function retryRoom(room, what) {
  if (rooms.get(room.id) !== room || !socket.isOpen) return; // gone, or a reconnect re-joins anyway
  if (what === "join") joinRoom(room);
  else if (what === "catchup") requestCatchup(room);
  else if (!room.synced) requestFirstPage(room);
  else maybeLoadOlder(room);
}

// ------------------------------------------------------------------ frames
// Frames about one room are dropped when the room is not (or no longer) on this page.
const ROOM_FRAMES = new Set(["joined", "ack", "history", "catchup", "changes", "presence", "typing", "read",
  "removed", "room_updated", "left", "notify"]);

const handlers = {
  hello(frame) {
    limits = { ...limits, ...(frame.limits || {}) };
  },
  rooms(frame) {
    const entries = Array.isArray(frame.rooms) ? frame.rooms : [];
    const ids = new Set(entries.map((entry) => entry.room));
    for (const room of [...rooms.values()]) if (room.listed && !ids.has(room.id)) dropRoom(room); // gone meanwhile
    for (const entry of entries) upsertRoom(entry, true).lastAt = entry.last_at || 0;
    if (!listedOnce) {
      listedOnce = true;
      if (wanted && !rooms.has(wanted)) upsertRoom({ room: wanted }, false); // a link to a public room
      const desktop = window.matchMedia("(min-width: 720px)").matches;
      const first = [...rooms.values()].find((r) => r.listed && r.kind !== "direct");
      activate(rooms.has(wanted) ? wanted : desktop && first ? first.id : null);
      if (active && desktop) input.focus();
    }
    joinRooms();
    refreshSidebar();
  },
  room(frame) {
    if (!frame.room || typeof frame.room.room !== "string") return;
    const room = upsertRoom(frame.room, true);
    ensureJoined(room, false);
    refreshSidebar();
  },
  created(frame) {
    if (!frame.room || typeof frame.room.room !== "string") return;
    dialogs.created();
    upsertRoom(frame.room, true);
    activate(frame.room.room);
    chrome.setSidebar(false);
    input.focus();
  },
  removed(frame, room) {
    const reason = { removed: gettext("You were removed from %(room)s."), archived: gettext("%(room)s was archived.") };
    if (reason[frame.reason]) ui.toast(interpolate(reason[frame.reason], { room: room.title }));
    dropRoom(room);
  },
  room_updated(frame, room) {
    room.applyEntry({ name: frame.name, topic: frame.topic });
    refreshSidebar();
  },
  notify(frame, room) {
    room.applyEntry({ notify: frame.level });
    refreshSidebar();
    if (room.id === active) ui.showRoomHeader(room);
  },
  read(frame, room) {
    if (!Number.isInteger(frame.seq)) return;
    room.noteRead(frame.seq); // forward only: an older echo changes nothing
    refreshSidebar();
  },
  joined(frame, room) {
    noteJoined(room, frame);
    room.applyEntry(frame);
    room.listed = true;
    room.joined = true;
    room.joining = false;
    if (room.id === active) {
      ui.showRoomHeader(room);
      if (!room.synced && room.unread > 0) room.setMarker(room.readSeq);
    }
    if (room.synced && !(frame.last_seq > room.lastSeq)) room.catchupSince = 0; // nothing missed
    requestFirstPage(room);
    for (const [clientId, entry] of room.pending) if (entry.msg.status === "pending") sendPending(room, clientId);
    flushRead(room);
    refreshSidebar();
  },
  left(frame, room) {
    room.joined = room.joining = false;
  },
  ack(frame, room) {
    const wasAtBottom = room.isAtBottom();
    const entry = room.pending.get(frame.client_id);
    room.acknowledge(frame);
    if (entry) showNew(room, [{ ...entry.msg, seq: frame.seq }], wasAtBottom);
  },
  message(frame) {
    const msg = frame.message;
    const room = msg && rooms.get(msg.room);
    if (!room) return;
    const wasAtBottom = room.isAtBottom();
    if (room.hasGapBefore(msg.seq)) room.awaitGap(() => room.isCatchingUp() || requestCatchup(room));
    const added = room.insert([msg]);
    if (added.length) notifier.onMessage(room, msg, mentionsMe(msg, me));
    showNew(room, added, wasAtBottom);
  },
  update(frame) {
    const msg = frame.message;
    const room = msg && rooms.get(msg.room);
    if (!room || !Number.isInteger(msg.seq)) return;
    if (applyUpdate(room, msg)) awaitChanges(room, () => socket.send(changesRequest(room)));
  },
  changes: (frame, room) => applyChangesPage(room, frame),
  changed: (frame) => actions.onChanged(frame),
  search_results: (frame) => search.onResults(frame),
  mention(frame) {
    const msg = frame.message;
    const room = msg && rooms.get(frame.room || msg.room);
    if (!room || !Number.isInteger(msg.seq) || msg.author === me) return;
    const counted = room.noteMention(msg.seq);
    notifier.onMention(room, msg);
    if (counted) {
      markRead(room);
      refreshSidebar();
    }
  },
  history: (frame, room) => onHistory(room, frame),
  heads(frame) {
    // Live updates were interrupted (Redis): catch up every room behind its heads (messages, changes).
    for (const [id, head] of Object.entries(frame.rooms || {})) {
      const room = rooms.get(id);
      if (!room) continue;
      if (room.noteHead(head) && !room.isCatchingUp()) requestCatchup(room);
      if (room.synced && head.last_change_seq > room.lastChange && !changesPending(room)) {
        socket.send(changesRequest(room));
      }
    }
    refreshSidebar();
  },
  catchup(frame, room) {
    const wasAtBottom = room.isAtBottom();
    const added = room.insert(Array.isArray(frame.messages) ? frame.messages : []);
    if (!frame.has_more) {
      room.catchupSince = 0;
      if (room.newestSeq > room.lastSeq) room.awaitGap(() => room.isCatchingUp() || requestCatchup(room)); // a hole
    }
    showNew(room, added, wasAtBottom);
  },
  presence(frame, room) {
    room.users = Array.isArray(frame.users) ? frame.users : [];
    if (frame.event === "leave") room.typers.delete(frame.user);
    if (room.id === active) ui.renderPresence(room, me);
  },
  typing(frame, room) {
    if (frame.user === me) return;
    room.typers.set(frame.user, Date.now() + TYPING_SHOWN_MS);
    if (room.id === active) ui.renderTyping(room);
  },
  directory: (frame) => dialogs.showDirectory(frame),
  members: (frame) => dialogs.showMembers(frame),
  member: (frame) => dialogs.membersChanged(frame),
  invited(frame) {
    ui.toast(interpolate(frame.changed ? gettext("%(user)s was added.") : gettext("%(user)s is already a member."), { user: frame.user }));
    dialogs.membersChanged(frame);
  },
  member_removed(frame) {
    if (frame.changed) ui.toast(interpolate(gettext("%(user)s was removed."), { user: frame.user }));
    dialogs.membersChanged(frame);
  },
  error(frame) {
    if (actions.onError(frame) || search.onError(frame)) return;
    const room = typeof frame.room === "string" ? rooms.get(frame.room) : null;
    const owner = frame.client_id
      ? room && room.pending.has(frame.client_id)
        ? room
        : [...rooms.values()].find((r) => r.pending.has(frame.client_id))
      : null;
    if (owner) {
      owner.setPendingStatus(frame.client_id, "failed", ui.sendErrorText(frame));
      return;
    }
    if (dialogs.showError(frame)) return;
    const transient = ["store_unavailable", "unavailable", "rate_limited", "internal"].includes(frame.code);
    if (room && transient && ["join", "history", "catchup"].includes(frame.ref)) {
      // The store or Redis hiccuped: ask again shortly, the room stays in the sidebar.
      if (frame.ref === "join") room.joining = false;
      if (frame.ref === "history") room.historyRequest = null;
      if (frame.ref === "catchup") room.catchupSince = room.changesSince = 0;
      setTimeout(() => retryRoom(room, frame.ref), RETRY_ROOM_MS);
      return;
    }
    if (room && frame.ref === "join") {
      ui.toast(interpolate(gettext("Could not open %(room)s: %(reason)s"), { room: room.title, reason: errorText(frame) }), "error");
      dropRoom(room);
      return;
    }
    if (room && frame.ref === "history") room.historyRequest = null;
    if (room && frame.ref === "catchup") room.catchupSince = 0;
    if (frame.ref === "read" && room && frame.code === "forbidden") return; // the room is going away
    if (frame.ref !== "typing") ui.toast(errorText(frame), "error");
  },
};

socket.addEventListener("frame", (event) => {
  const frame = event.detail;
  const handler = handlers[frame.type];
  if (!handler) return;
  const room = ROOM_FRAMES.has(frame.type) ? rooms.get(frame.room) : null;
  if (ROOM_FRAMES.has(frame.type) && !room) return;
  handler(frame, room);
});

socket.addEventListener("disconnected", () => {
  for (const room of rooms.values()) {
    room.joined = room.joining = false;
    room.catchupSince = room.changesSince = 0;
    room.typers.clear();
    if (room.historyRequest) {
      room.historyRequest = null;
      room.setTop(room.hasMore ? "" : "start");
    }
  }
  ui.renderTyping(activeRoom());
});

socket.addEventListener("state", async (event) => {
  ui.showConnection(event.detail);
  if (event.detail === "revoked") {
    // Logged out, deactivated or a new password: this page may not reconnect; log in again.
    ui.showSignedOut();
    const next = encodeURIComponent(location.pathname);
    setTimeout(() => location.assign(`${config.loginUrl}?next=${next}`), REVOKED_REDIRECT_MS);
    return;
  }
  if (event.detail !== "offline") return;
  // A socket refused at the handshake may mean the session ended: go log in again.
  try {
    const res = await fetch(config.indexUrl, { redirect: "manual", credentials: "same-origin" });
    if (res.type === "opaqueredirect") location.reload();
  } catch {
    // The server is down; keep retrying.
  }
});

// ------------------------------------------------------------------ composer and controls
function autoGrow() {
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
  const left = limits.max_body_chars - input.value.length;
  $("char-count").textContent = left < 200
    ? ` · ${interpolate(ngettext("%(count)s character left", "%(count)s characters left", left), { count: left })}`
    : "";
}

input.addEventListener("keydown", (e) => {
  // Enter that ends a Hangul (IME) composition only commits the syllable: keyCode 229 where isComposing is not set.
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
    e.preventDefault();
    submitMessage();
  }
});
input.addEventListener("input", () => {
  autoGrow();
  const room = activeRoom();
  const now = Date.now();
  if (room?.joined && input.value.trim() && now - lastTypingSent > TYPING_SEND_EVERY_MS && socket.isOpen) {
    lastTypingSent = now;
    socket.send({ type: "typing", room: room.id });
  }
});
$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  submitMessage();
  input.focus();
});

logs.addEventListener("click", (e) => {
  const retry = e.target.closest(".retry-btn");
  if (!retry) return;
  const room = [...rooms.values()].find((r) => r.pending.has(retry.dataset.clientId));
  if (room) sendPending(room, retry.dataset.clientId);
});

newMessagesBtn.addEventListener("click", () => {
  activeRoom()?.scrollToBottom();
  newMessagesBtn.hidden = true;
});

$("presence-list").addEventListener("click", (e) => {
  const name = e.target.closest("[data-dm]");
  if (name) openDirect(name.dataset.dm);
});
$("new-dm-btn").addEventListener("click", () => dialogs.open("dm"));
$("create-btn").addEventListener("click", () => dialogs.open("create"));
$("browse-btn").addEventListener("click", () => dialogs.open("browse"));

const setRoomMenu = ui.setupRoomMenu();
$("members-btn").addEventListener("click", () => {
  setRoomMenu(false);
  if (activeRoom()) dialogs.openMembers(activeRoom());
});
// The room's notify level (kept with the membership): every message, only @mentions, or muted.
for (const item of document.querySelectorAll("#room-menu [data-level]")) {
  item.addEventListener("click", () => {
    setRoomMenu(false);
    const room = activeRoom();
    if (room && room.notify !== item.dataset.level) socket.send({ type: "notify", room: room.id, level: item.dataset.level });
  });
}
$("leave-btn").addEventListener("click", async () => {
  setRoomMenu(false);
  const room = activeRoom();
  if (!room) return;
  const text = room.kind === "private"
    ? gettext("Leave %(room)s? It is private: you will need an invitation to come back.")
    : gettext("Leave %(room)s?");
  if (await dialogs.confirm(interpolate(text, { room: room.title }), gettext("Leave"))) {
    socket.send({ type: "leave_room", room: room.id });
  }
});
$("archive-btn").addEventListener("click", async () => {
  setRoomMenu(false);
  const room = activeRoom();
  if (!room?.canManage) return;
  const text = interpolate(
    gettext("Archive %(room)s? It leaves everyone's sidebar and nobody can read or write in it any more."), { room: room.title });
  if (await dialogs.confirm(text, gettext("Archive"))) socket.send({ type: "archive_room", room: room.id, archived: true });
});

document.addEventListener("visibilitychange", () => {
  const room = activeRoom();
  if (room) markRead(room);
});

setInterval(() => {
  const room = activeRoom();
  if (!room) return;
  ui.renderTyping(room);
}, 1000);
setInterval(() => {
  const room = activeRoom();
  if (room) refreshTimes(room.list);
}, 30000);

// ------------------------------------------------------------------ start
activate(null);
ui.showConnection(socket.state);
socket.start();
window.chatApp = { rooms, socket }; // for debugging and the browser tests
