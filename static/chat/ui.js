// Page chrome around the message logs: sidebar, presence, typing line, badge, toasts, drawers.

import { gettext, interpolate, ngettext } from "./i18n.js";
import { mentionBadge } from "./notify.js";
import { fillAvatar } from "./render.js";

const $ = (id) => document.getElementById(id);

const STATE_TEXT = {
  connecting: gettext("Connecting…"),
  connected: gettext("Connected"),
  reconnecting: gettext("Reconnecting…"),
  offline: gettext("Offline"),
  revoked: gettext("Signed out"),
};

export function showConnection(state) {
  const badge = $("conn-state");
  badge.dataset.state = state;
  badge.querySelector(".conn-text").textContent = STATE_TEXT[state] || state;
  document.body.dataset.conn = state;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** The small icon before a room's name: # public, a lock for private, an avatar for a DM. */
export function roomIcon(room) {
  if (room.kind === "direct") {
    const avatar = document.createElement("span");
    avatar.className = "avatar avatar-xs";
    avatar.setAttribute("aria-hidden", "true");
    fillAvatar(avatar, room.peers[0] || room.title);
    return avatar;
  }
  const icon = document.createElement("span");
  icon.className = "hash";
  icon.setAttribute("aria-hidden", "true");
  if (room.kind === "private") {
    icon.classList.add("lock");
    icon.title = gettext("Private room");
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "14");
    svg.setAttribute("height", "14");
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", "M7 10V7a5 5 0 0 1 10 0v3h1a1 1 0 0 1 1 1v9a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1v-9a1 1 0 0 1 1-1h1Zm2 0h6V7a3 3 0 0 0-6 0v3Z");
    path.setAttribute("fill", "currentColor");
    svg.append(path);
    icon.append(svg);
  } else {
    icon.textContent = "#";
  }
  return icon;
}

function roomItem(room, activeId, onSelect) {
  const li = document.createElement("li");
  const btn = document.createElement("button");
  btn.type = "button";
  btn.className = "room-item";
  btn.dataset.room = room.id;
  btn.dataset.kind = room.kind;
  if (room.id === activeId) btn.setAttribute("aria-current", "page");
  const name = document.createElement("span");
  name.className = "room-name";
  name.textContent = room.title;
  btn.append(roomIcon(room), name);
  if (room.kind === "private") btn.title = interpolate(gettext("%(room)s (private)"), { room: room.title });
  if (room.notify === "none") {
    btn.dataset.muted = "true"; // muted: the badge stays, dimmed (app.css), and counts nowhere else
    btn.title = interpolate(gettext("%(room)s (muted)"), { room: btn.title || room.title });
  }
  const unread = room.unread;
  if (room.mentions > 0) btn.append(mentionBadge(room.mentions));
  if (unread > 0) {
    const badge = document.createElement("span");
    badge.className = "unread";
    badge.dataset.count = String(unread);
    badge.textContent = unread > 99 ? "99+" : String(unread);
    badge.setAttribute("aria-label", interpolate(ngettext("%(count)s unread message", "%(count)s unread messages", unread), { count: unread }));
    btn.append(badge);
    btn.classList.add("has-unread");
  }
  btn.addEventListener("click", () => onSelect(room.id));
  li.append(btn);
  return { li, unread: room.notify === "none" ? room.mentions : unread }; // a muted room counts its mentions only
}

/** The sidebar's two sections (rooms, direct messages), with unread badges; returns the total unread. */
export function renderRoomList(rooms, activeId, onSelect) {
  const byTitle = (a, b) => a.title.localeCompare(b.title);
  const listed = [...rooms.values()].filter((room) => room.listed).sort(byTitle);
  let total = 0;
  const fill = (listId, emptyId, items) => {
    const rendered = items.map((room) => roomItem(room, activeId, onSelect));
    for (const item of rendered) total += item.unread;
    $(listId).replaceChildren(...rendered.map((item) => item.li));
    $(emptyId).hidden = rendered.length > 0;
  };
  fill("room-list", "room-list-empty", listed.filter((room) => room.kind !== "direct"));
  fill("dm-list", "dm-list-empty", listed.filter((room) => room.kind === "direct"));
  const menuUnread = $("menu-unread");
  menuUnread.hidden = total === 0;
  menuUnread.textContent = total > 99 ? "99+" : String(total);
  const active = activeId ? rooms.get(activeId) : null;
  document.title = `${total ? `(${total}) ` : ""}${active ? `${active.title} · ` : ""}${gettext("Ember Chat")}`;
  return total;
}

export function renderPresence(room, me) {
  const users = room ? room.users : [];
  $("presence-count").textContent = String(users.length);
  const items = users.map((user) => {
    const li = document.createElement("li");
    li.dataset.user = user;
    const avatar = document.createElement("span");
    avatar.className = "avatar avatar-sm";
    avatar.setAttribute("aria-hidden", "true");
    fillAvatar(avatar, user);
    // Another user's name opens a direct message with them.
    const name = document.createElement(user === me ? "span" : "button");
    name.className = "presence-name";
    name.textContent = user === me ? interpolate(gettext("%(user)s (you)"), { user }) : user;
    if (user !== me) {
      name.type = "button";
      name.dataset.dm = user;
      name.title = interpolate(gettext("Message %(user)s"), { user });
    }
    li.append(avatar, name);
    return li;
  });
  $("presence-list").replaceChildren(...items);
}

export function renderTyping(room) {
  const text = room ? room.typingText() : "";
  const line = $("typing");
  if (line.textContent !== text) line.textContent = text;
}

export function toast(text, kind = "info") {
  const box = document.createElement("div");
  box.className = `toast toast-${kind}`;
  box.textContent = text;
  $("toasts").append(box);
  setTimeout(() => box.classList.add("leaving"), 4500);
  setTimeout(() => box.remove(), 5000);
}

function setupDrawer(buttonId, panelId, className) {
  const button = $(buttonId);
  const scrim = $("scrim");
  const app = $("app");
  const set = (open) => {
    app.classList.toggle(className, open);
    button.setAttribute("aria-expanded", String(open));
    scrim.hidden = !app.classList.contains("sidebar-open") && !app.classList.contains("presence-open");
  };
  button.addEventListener("click", () => set(!app.classList.contains(className)));
  scrim.addEventListener("click", () => set(false));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && app.classList.contains(className)) {
      set(false);
      button.focus();
    }
  });
  return set;
}

export function setupChrome(me) {
  fillAvatar($("me-avatar"), me);
  return {
    setSidebar: setupDrawer("menu-btn", "sidebar", "sidebar-open"),
    setPresence: setupDrawer("presence-btn", "presence-panel", "presence-open"),
  };
}

/** The header of the open room: icon, name, topic, and the actions the user's role allows. */
export function showRoomHeader(room) {
  $("room-icon").replaceChildren(...(room ? [roomIcon(room)] : []));
  $("room-name").textContent = room ? room.title : gettext("No room");
  $("room-topic").textContent = room ? room.topic : "";
  $("room-topic").hidden = !room || !room.topic;
  $("room-actions-btn").hidden = !room;
  $("presence-btn").hidden = !room;
  $("archive-btn").hidden = !room || !room.canManage;
  $("leave-btn").hidden = !room || room.kind === "direct";
  for (const item of document.querySelectorAll("#room-menu [data-level]")) {
    item.setAttribute("aria-checked", String((room?.notify || "all") === item.dataset.level));
  }
  $("members-btn").textContent = room?.kind === "direct" ? gettext("People") : gettext("Members");
  $("empty-state").hidden = Boolean(room);
  $("composer").hidden = !room;
  $("message-input").placeholder = room
    ? interpolate(gettext("Message %(room)s"), { room: `${room.kind === "public" ? "#" : ""}${room.title}` })
    : gettext("Message");
}

/** The ⋯ menu of the room header; returns set(open). Closes on Escape and on a click elsewhere. */
export function setupRoomMenu() {
  const button = $("room-actions-btn");
  const menu = $("room-menu");
  const set = (open) => {
    menu.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    if (open) menu.querySelector("button:not([hidden])")?.focus();
  };
  button.addEventListener("click", () => set(menu.hidden));
  document.addEventListener("click", (e) => {
    if (!menu.hidden && !e.target.closest(".room-actions")) set(false);
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !menu.hidden) {
      set(false);
      button.focus();
    }
  });
  return set;
}

/** The session ended on the server (close code 4401): say so before going to the login page. */
export function showSignedOut() {
  $("signed-out").hidden = false;
  $("composer").hidden = true;
}

const SEND_ERRORS = {
  store_unavailable: gettext("Not sent: the server could not store it."),
  unavailable: gettext("Not sent: the server is busy."),
  rate_limited: gettext("Not sent: you are sending too fast."),
  not_joined: gettext("Not sent: not in this room any more."),
  internal: gettext("Not sent: the server failed."),
};

/** A short, human reason for a failed send (the protocol's detail is written for developers). */
export function sendErrorText(frame) {
  const text = SEND_ERRORS[frame.code] || interpolate(gettext("Not sent: %(reason)s."), { reason: frame.detail || frame.code });
  if (!frame.retry_after) return text;
  const seconds = Math.ceil(frame.retry_after);
  return `${text} ${interpolate(ngettext("Try again in %(count)s second.", "Try again in %(count)s seconds.", seconds), { count: seconds })}`;
}
