// The dialogs around the rooms: browse the directory, create a room, start a DM, members, confirm.
// They only build frames and show answers; app.js owns the socket and the rooms.

import { gettext, interpolate, ngettext } from "./i18n.js";
import { fillAvatar } from "./render.js";

const $ = (id) => document.getElementById(id);
const DIRECTORY_DEBOUNCE_MS = 250;

const FIELD_NAMES = {
  name: gettext("Name"), topic: gettext("Topic"), user: gettext("Username"), kind: gettext("Kind"), room: gettext("Room"),
  body: gettext("Message"), emoji: gettext("Reaction"), query: gettext("Search"), author: gettext("From"),
};
const NOT_CONNECTED = gettext("Not connected; try again in a moment.");
const ROLE_NAMES = { owner: gettext("owner"), admin: gettext("admin") };

/**
 * A human sentence for an `error` frame, in the page's language: by its stable code, and for
 * `invalid` the field's name with the server's detail (the server writes it in the socket's language).
 */
export function errorText(frame) {
  if (frame.code === "forbidden") return gettext("Not allowed: the room does not exist or you may not do this in it.");
  if (frame.code === "invalid") {
    const field = FIELD_NAMES[frame.field] || frame.field;
    return field
      ? interpolate(gettext("%(field)s: %(detail)s."), { field, detail: frame.detail })
      : interpolate(gettext("Invalid: %(detail)s."), { detail: frame.detail });
  }
  if (frame.code === "store_unavailable" || frame.code === "unavailable") return gettext("The server is busy; try again.");
  if (frame.code === "rate_limited") return gettext("Too fast; wait a moment and try again.");
  if (frame.code === "too_many_rooms") return gettext("You have too many rooms open; leave one first.");
  return frame.detail || frame.code || gettext("Something went wrong.");
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(text, className, onClick) {
  const btn = el("button", className, text);
  btn.type = "button";
  btn.addEventListener("click", onClick);
  return btn;
}

/**
 * Wire the dialogs. `send(frame)` sends a client frame (false when offline); `joinRoom(entry)` opens
 * a directory room; `openDirect(user)` starts a DM; `me` is the user's name.
 */
export function setupDialogs({ send, joinRoom, openDirect, me }) {
  const dialogs = {
    browse: $("browse-dialog"),
    create: $("create-dialog"),
    dm: $("dm-dialog"),
    members: $("members-dialog"),
  };
  let directoryTimer = null;
  let membersRoom = null; // the Room whose members dialog is open

  const open = (name) => {
    for (const dialog of Object.values(dialogs)) if (dialog.open && dialog !== dialogs[name]) dialog.close();
    const dialog = dialogs[name];
    if (!dialog.open) dialog.showModal();
    if (name === "browse") askDirectory();
    for (const error of dialog.querySelectorAll(".dialog-error")) error.textContent = "";
    dialog.querySelector("input:not([type=radio])")?.focus();
  };
  const close = (name) => dialogs[name].open && dialogs[name].close();

  for (const dialog of Object.values(dialogs)) {
    dialog.addEventListener("click", (e) => {
      if (e.target === dialog || e.target.closest("[data-close]")) dialog.close(); // backdrop or Cancel
    });
  }
  document.addEventListener("click", (e) => {
    const opener = e.target.closest("[data-open]");
    if (opener) open(opener.dataset.open);
  });
  dialogs.members.addEventListener("close", () => {
    membersRoom = null;
  });

  // ------------------------------------------------------------ browse
  const query = $("directory-query");
  function askDirectory() {
    clearTimeout(directoryTimer);
    $("directory-status").textContent = gettext("Searching…");
    if (!send({ type: "directory", query: query.value.trim(), limit: 50 })) {
      $("directory-status").textContent = NOT_CONNECTED;
    }
  }
  query.addEventListener("input", () => {
    clearTimeout(directoryTimer);
    directoryTimer = setTimeout(askDirectory, DIRECTORY_DEBOUNCE_MS);
  });
  $("browse-form").addEventListener("submit", (e) => {
    if (e.submitter?.value === "cancel") return;
    e.preventDefault(); // Enter in the search box searches now
    askDirectory();
  });

  function showDirectory(frame) {
    if ((frame.query ?? "") !== query.value.trim()) return; // an older answer
    const rooms = Array.isArray(frame.rooms) ? frame.rooms : [];
    const items = rooms.map((entry) => {
      const li = el("li", "directory-item");
      li.dataset.room = entry.room;
      const text = el("div", "directory-text");
      const name = el("span", "directory-name");
      name.append(el("span", "hash", "#"), document.createTextNode(entry.name));
      text.append(name);
      if (entry.topic) text.append(el("span", "directory-topic", entry.topic));
      const count = Number(entry.members) || 0;
      text.append(el("span", "directory-meta", interpolate(ngettext("%(count)s member", "%(count)s members", count), { count })));
      const action = button(entry.joined ? gettext("Open") : gettext("Join"), `btn btn-sm ${entry.joined ? "btn-ghost" : "btn-primary"}`,
        () => {
          close("browse");
          joinRoom(entry);
        });
      action.setAttribute("aria-label", interpolate(entry.joined ? gettext("Open %(room)s") : gettext("Join %(room)s"), { room: entry.name }));
      li.append(text, action);
      return li;
    });
    $("directory-list").replaceChildren(...items);
    $("directory-status").textContent = items.length
      ? ""
      : frame.query
        ? gettext("No public room has that name. Create it?")
        : gettext("No public rooms yet. Create the first one.");
  }

  // ------------------------------------------------------------ create
  $("create-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const name = $("create-name").value.trim();
    const error = $("create-error");
    if (!name) {
      error.textContent = gettext("Give the room a name.");
      $("create-name").setAttribute("aria-invalid", "true");
      return;
    }
    $("create-name").removeAttribute("aria-invalid");
    const kind = new FormData(e.target).get("kind") === "private" ? "private" : "public";
    const frame = { type: "create_room", name, kind, topic: $("create-topic").value.trim() };
    error.textContent = send(frame) ? "" : NOT_CONNECTED;
    $("create-submit").disabled = true;
    setTimeout(() => ($("create-submit").disabled = false), 1500);
  });

  // ------------------------------------------------------------ direct messages
  $("dm-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const user = $("dm-user").value.trim();
    if (!user) {
      $("dm-error").textContent = gettext("Type a username.");
      return;
    }
    $("dm-error").textContent = openDirect(user) ? "" : NOT_CONNECTED;
  });

  // ------------------------------------------------------------ members
  function openMembers(room) {
    membersRoom = room;
    const title = room.kind === "direct" ? gettext("People in %(room)s") : gettext("Members of %(room)s");
    $("members-title").textContent = interpolate(title, { room: room.title });
    $("members-list").replaceChildren(el("li", "dialog-note", gettext("Loading…")));
    $("invite-form").hidden = !(room.canManage || (room.kind === "public" && room.role));
    open("members");
    send({ type: "members", room: room.id });
  }

  function showMembers(frame) {
    const room = membersRoom;
    if (!room || frame.room !== room.id) return;
    const members = Array.isArray(frame.members) ? frame.members : [];
    const items = members.map(({ user, role }) => {
      const li = el("li", "member");
      li.dataset.user = user;
      const avatar = el("span", "avatar avatar-sm");
      avatar.setAttribute("aria-hidden", "true");
      fillAvatar(avatar, user);
      const name = el("span", "member-name", user === me ? interpolate(gettext("%(user)s (you)"), { user }) : user);
      li.append(avatar, name);
      if (role && role !== "member") li.append(el("span", "member-role", ROLE_NAMES[role] || role));
      if (user !== me) {
        li.append(button(gettext("Message"), "btn btn-ghost btn-sm", () => {
          close("members");
          openDirect(user);
        }));
        const mayRemove = room.canManage && (role !== "owner" || room.role === "owner");
        if (mayRemove) {
          const remove = button(gettext("Remove"), "btn btn-ghost btn-sm danger", () => {
            send({ type: "remove_member", room: room.id, user });
          });
          remove.setAttribute("aria-label", interpolate(gettext("Remove %(user)s"), { user }));
          li.append(remove);
        }
      }
      return li;
    });
    $("members-list").replaceChildren(...items);
  }

  $("invite-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const user = $("invite-user").value.trim();
    if (!membersRoom || !user) return;
    $("members-error").textContent = send({ type: "invite", room: membersRoom.id, user }) ? "" : NOT_CONNECTED;
  });

  /** A `member`, `invited` or `member_removed` frame: refresh the open members list. */
  function membersChanged(frame) {
    if (membersRoom && frame.room === membersRoom.id) {
      if (frame.type === "invited") $("invite-user").value = "";
      send({ type: "members", room: membersRoom.id });
    }
  }

  // ------------------------------------------------------------ confirm
  function confirm(text, okLabel) {
    const dialog = $("confirm-dialog");
    $("confirm-text").textContent = text;
    $("confirm-ok").textContent = okLabel;
    dialog.returnValue = "";
    dialog.showModal();
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    });
  }

  /** Show an error in the dialog that asked for it; false when no dialog did. */
  function showError(frame) {
    const target = {
      create_room: [dialogs.create, "create-error"],
      open_dm: [dialogs.dm, "dm-error"],
      invite: [dialogs.members, "members-error"],
      remove_member: [dialogs.members, "members-error"],
      members: [dialogs.members, "members-error"],
      directory: [dialogs.browse, "directory-status"],
    }[frame.ref];
    if (!target || !target[0].open) return false;
    $(target[1]).textContent = errorText(frame);
    return true;
  }

  /** The room asked for by create_room / open_dm exists now: close its dialog, reset the forms. */
  function created() {
    for (const name of ["create", "dm"]) close(name);
    $("create-form").reset();
    $("dm-form").reset();
    $("create-submit").disabled = false;
  }

  return { open, close, showDirectory, openMembers, showMembers, membersChanged, confirm, showError, created };
}
