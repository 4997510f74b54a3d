// Page chrome around the message logs: sidebar, presence, typing line, badge, toasts, drawers.

import { fillAvatar } from "./render.js";

const $ = (id) => document.getElementById(id);

const STATE_TEXT = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};

export function showConnection(state) {
  const badge = $("conn-state");
  badge.dataset.state = state;
  badge.querySelector(".conn-text").textContent = STATE_TEXT[state] || state;
  document.body.dataset.conn = state;
}

export function renderRoomList(rooms, activeName, onSelect) {
  const list = $("room-list");
  const items = [];
  let total = 0;
  for (const room of rooms.values()) {
    total += room.unread;
    const li = document.createElement("li");
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "room-item";
    btn.dataset.room = room.name;
    if (room.name === activeName) btn.setAttribute("aria-current", "page");
    const hash = document.createElement("span");
    hash.className = "hash";
    hash.setAttribute("aria-hidden", "true");
    hash.textContent = "#";
    const name = document.createElement("span");
    name.className = "room-name";
    name.textContent = room.name;
    btn.append(hash, name);
    if (room.unread > 0) {
      const badge = document.createElement("span");
      badge.className = "unread";
      badge.dataset.count = String(room.unread);
      badge.textContent = room.unread > 99 ? "99+" : String(room.unread);
      badge.setAttribute("aria-label", `${room.unread} unread`);
      btn.append(badge);
      btn.classList.add("has-unread");
    }
    btn.addEventListener("click", () => onSelect(room.name));
    li.append(btn);
    items.push(li);
  }
  list.replaceChildren(...items);
  const menuUnread = $("menu-unread");
  menuUnread.hidden = total === 0;
  menuUnread.textContent = total > 99 ? "99+" : String(total);
  const active = activeName ? `#${activeName} · ` : "";
  document.title = `${total ? `(${total}) ` : ""}${active}Ember Chat`;
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
    const name = document.createElement("span");
    name.className = "presence-name";
    name.textContent = user === me ? `${user} (you)` : user;
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

export function showRoomHeader(name) {
  $("room-name").textContent = name || "No room";
  $("leave-btn").hidden = !name;
  $("presence-btn").hidden = !name;
  $("empty-state").hidden = Boolean(name);
  $("composer").hidden = !name;
}

const SEND_ERRORS = {
  store_unavailable: "Not sent: the server could not store it.",
  unavailable: "Not sent: the server is busy.",
  rate_limited: "Not sent: you are sending too fast.",
  not_joined: "Not sent: not in this room any more.",
  internal: "Not sent: the server failed.",
};

/** A short, human reason for a failed send (the protocol's detail is written for developers). */
export function sendErrorText(frame) {
  const text = SEND_ERRORS[frame.code] || `Not sent: ${frame.detail || frame.code}.`;
  return frame.retry_after ? `${text} Try again in ${Math.ceil(frame.retry_after)} s.` : text;
}
