// The chat page: speaks docs/protocol.md over one socket, keeps each joined room in order by seq.

import { newClientId, Prefs } from "./prefs.js";
import { refreshTimes } from "./render.js";
import { Room } from "./room.js";
import { ChatSocket, socketUrl } from "./socket.js";
import * as ui from "./ui.js";

const config = JSON.parse(document.getElementById("chat-config").textContent);
const me = config.user;
const roomRe = new RegExp(config.roomPattern);
const prefs = new Prefs(me);
const socket = new ChatSocket(socketUrl(config.wsPath));
const rooms = new Map();
const $ = (id) => document.getElementById(id);
const input = $("message-input");
const logs = $("logs");
const newMessagesBtn = $("new-messages");

const ACK_TIMEOUT_MS = 12000;
const RETRY_ROOM_MS = 3000;
const TYPING_SEND_EVERY_MS = 2500;
const TYPING_SHOWN_MS = 5000;
let limits = { max_body_chars: config.maxBodyChars, max_rooms: 50, history_page_max: 100 };
let active = null;
let lastTypingSent = 0;
const chrome = ui.setupChrome(me);

// ------------------------------------------------------------------ rooms
function activeRoom() {
  return active ? rooms.get(active) : null;
}

function saveRooms() {
  prefs.rooms = [...rooms.keys()];
}

function refreshSidebar() {
  ui.renderRoomList(rooms, active, (name) => {
    activate(name);
    chrome.setSidebar(false);
  });
}

function addRoom(name) {
  let room = rooms.get(name);
  if (room) return room;
  room = new Room(name, me);
  room.readSeq = prefs.readSeq(name);
  room.log.addEventListener("scroll", () => onScroll(room), { passive: true });
  logs.append(room.log);
  rooms.set(name, room);
  saveRooms();
  if (socket.isOpen) joinRoom(room);
  return room;
}

function joinRoom(room) {
  // After a reconnect, `after` makes the server send only what we missed (as catchup pages).
  const frame = { type: "join", room: room.name };
  if (room.synced) {
    frame.after = room.lastSeq;
    room.catchupSince = Date.now();
  }
  socket.send(frame);
}

function activate(name) {
  const previous = activeRoom();
  if (previous) previous.savedScroll = previous.isAtBottom() ? null : previous.log.scrollTop;
  for (const room of rooms.values()) room.log.hidden = room.name !== name;
  active = rooms.has(name) ? name : null;
  prefs.active = active;
  ui.showRoomHeader(active);
  const room = activeRoom();
  newMessagesBtn.hidden = true;
  if (room) {
    if (room.savedScroll == null) room.scrollToBottom();
    else room.log.scrollTop = room.savedScroll;
    markRead(room);
    const url = config.roomUrl.replace("ROOM", room.name);
    if (location.pathname !== url) history.replaceState(null, "", url);
    maybeLoadOlder(room);
  } else if (location.pathname !== config.indexUrl) {
    history.replaceState(null, "", config.indexUrl);
  }
  ui.renderPresence(room, me);
  ui.renderTyping(room);
  refreshSidebar();
}

function leave(name) {
  const room = rooms.get(name);
  if (!room) return;
  socket.send({ type: "leave", room: name });
  room.log.remove();
  rooms.delete(name);
  prefs.forget(name);
  saveRooms();
  activate(rooms.keys().next().value ?? null);
}

function markRead(room) {
  if (room.name !== active || document.hidden || !room.isAtBottom()) return;
  room.unread = 0;
  if (room.synced) {
    room.readSeq = Math.max(room.readSeq ?? 0, room.newestSeq);
    prefs.setReadSeq(room.name, room.readSeq);
  }
  newMessagesBtn.hidden = true;
  refreshSidebar();
}

// ------------------------------------------------------------------ messages
function countUnread(room, added) {
  for (const msg of added) {
    if (msg.author !== me && !msg.deleted && msg.seq > (room.readSeq ?? 0)) room.unread += 1;
  }
}

/** Messages that arrived live or by catchup: unread counts, auto-scroll or the marker. */
function showNew(room, added, wasAtBottom) {
  if (!added.length) return;
  for (const msg of added) room.typers.delete(msg.author);
  const isActive = room.name === active;
  if (isActive && (wasAtBottom || added.some((m) => m.author === me))) room.scrollToBottom();
  if (isActive && !document.hidden && room.isAtBottom()) {
    markRead(room);
  } else {
    countUnread(room, added);
    if (isActive && !room.isAtBottom()) newMessagesBtn.hidden = false;
  }
  if (isActive) ui.renderTyping(room);
  refreshSidebar();
}

function requestCatchup(room) {
  room.catchupSince = Date.now();
  socket.send({ type: "catchup", room: room.name, after: room.lastSeq });
}

function onScroll(room) {
  if (room.name !== active) return;
  if (room.isAtBottom()) markRead(room);
  maybeLoadOlder(room);
}

function maybeLoadOlder(room) {
  if (!room.synced || !room.hasMore || room.historyRequest || !socket.isOpen) return;
  const nearTop = room.log.scrollTop < 200;
  const notScrollable = room.log.scrollHeight <= room.log.clientHeight + 4;
  if (room.name !== active || !(nearTop || notScrollable)) return;
  room.historyRequest = "older";
  room.setTop("loading");
  const frame = { type: "history", room: room.name, limit: config.historyPage };
  if (room.oldestSeq !== null) frame.before = room.oldestSeq;
  socket.send(frame);
}

function onHistory(room, frame) {
  const kind = room.historyRequest;
  room.historyRequest = null;
  const messages = Array.isArray(frame.messages) ? frame.messages : [];
  room.hasMore = Boolean(frame.has_more);
  if (kind === "older") {
    // Keep the text on screen where it is while older rows are added above it.
    const anchor = room.firstVisibleRow()?.querySelector(".msg-body");
    const top = anchor?.getBoundingClientRect().top;
    room.insert(messages);
    room.setTop(room.hasMore ? "" : "start");
    if (anchor) room.log.scrollTop += anchor.getBoundingClientRect().top - top;
  } else {
    const atBottom = room.isAtBottom();
    const added = room.insert(messages);
    room.markSynced(messages);
    room.setTop(room.hasMore ? "" : "start");
    if (room.readSeq === null) {
      room.readSeq = room.newestSeq;
      prefs.setReadSeq(room.name, room.readSeq);
    }
    if (room.name === active && (atBottom || room.savedScroll == null)) room.scrollToBottom();
    showNew(room, added, true);
  }
  setTimeout(() => maybeLoadOlder(room), 0);
}

function sendPending(room, clientId) {
  const entry = room.pending.get(clientId);
  if (!entry) return;
  room.setPendingStatus(clientId, "pending");
  if (!socket.isOpen || !room.joined) return; // sent again once the room is re-joined
  socket.send({ type: "send", room: room.name, body: entry.msg.body, client_id: clientId });
  const stamp = (entry.sentAt = Date.now());
  setTimeout(() => {
    const still = room.pending.get(clientId);
    if (still && still.sentAt === stamp && still.msg.status === "pending" && socket.isOpen) {
      room.setPendingStatus(clientId, "failed", "No answer from the server.");
    }
  }, ACK_TIMEOUT_MS);
}

function submitMessage() {
  const room = activeRoom();
  // The store refuses control characters other than newline and tab.
  const body = input.value.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "");
  if (!room || !body.trim()) return;
  if (body.length > limits.max_body_chars) {
    ui.toast(`Messages can be at most ${limits.max_body_chars} characters.`, "error");
    return;
  }
  input.value = "";
  autoGrow();
  const clientId = newClientId();
  room.addPending(body, clientId);
  room.scrollToBottom();
  sendPending(room, clientId);
}

function requestFirstPage(room) {
  if (room.synced || room.historyRequest) return;
  room.historyRequest = "initial";
  socket.send({ type: "history", room: room.name, limit: config.historyPage });
}

function retryRoom(room, what) {
  if (rooms.get(room.name) !== room || !socket.isOpen) return; // left, or a reconnect re-joins anyway
  if (what === "join") joinRoom(room);
  else if (what === "catchup") requestCatchup(room);
  else if (!room.synced) requestFirstPage(room);
  else maybeLoadOlder(room);
}

// ------------------------------------------------------------------ frames
const handlers = {
  hello(frame) {
    limits = { ...limits, ...(frame.limits || {}) };
    for (const room of rooms.values()) joinRoom(room);
  },
  joined(frame, room) {
    room.joined = true;
    if (room.synced && !(frame.last_seq > room.lastSeq)) room.catchupSince = 0; // nothing missed
    requestFirstPage(room);
    for (const [clientId, entry] of room.pending) if (entry.msg.status === "pending") sendPending(room, clientId);
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
    if (room.hasGapBefore(msg.seq) && !room.isCatchingUp()) requestCatchup(room);
    showNew(room, room.insert([msg]), wasAtBottom);
  },
  history: (frame, room) => onHistory(room, frame),
  catchup(frame, room) {
    const wasAtBottom = room.isAtBottom();
    const added = room.insert(Array.isArray(frame.messages) ? frame.messages : []);
    if (!frame.has_more) {
      room.catchupSince = 0;
      if (room.newestSeq > room.lastSeq) requestCatchup(room); // a hole is still there
    }
    showNew(room, added, wasAtBottom);
  },
  presence(frame, room) {
    room.users = Array.isArray(frame.users) ? frame.users : [];
    if (frame.event === "leave") room.typers.delete(frame.user);
    if (room.name === active) ui.renderPresence(room, me);
  },
  typing(frame, room) {
    if (frame.user === me) return;
    room.typers.set(frame.user, Date.now() + TYPING_SHOWN_MS);
    if (room.name === active) ui.renderTyping(room);
  },
  deleted(frame, room) {
    room.markDeleted(frame.seq);
  },
  error(frame) {
    const room = frame.room ? rooms.get(frame.room) : null;
    const owner = frame.client_id
      ? room && room.pending.has(frame.client_id)
        ? room
        : [...rooms.values()].find((r) => r.pending.has(frame.client_id))
      : null;
    if (owner) {
      owner.setPendingStatus(frame.client_id, "failed", ui.sendErrorText(frame));
      return;
    }
    const transient = ["store_unavailable", "unavailable", "rate_limited", "internal"].includes(frame.code);
    if (room && transient && ["join", "history", "catchup"].includes(frame.ref)) {
      // The store or Redis hiccuped: ask again shortly, the room stays in the sidebar.
      if (frame.ref === "history") room.historyRequest = null;
      if (frame.ref === "catchup") room.catchupSince = 0;
      setTimeout(() => retryRoom(room, frame.ref), RETRY_ROOM_MS);
      return;
    }
    if (room && frame.ref === "join") {
      ui.toast(`Could not join #${room.name}: ${frame.detail || frame.code}`, "error");
      leave(room.name);
      return;
    }
    if (room && frame.ref === "history") room.historyRequest = null;
    if (room && frame.ref === "catchup") room.catchupSince = 0;
    if (frame.ref !== "typing") ui.toast(frame.detail || frame.code || "Something went wrong.", "error");
  },
};

socket.addEventListener("frame", (event) => {
  const frame = event.detail;
  const handler = handlers[frame.type];
  if (!handler) return;
  const room = frame.room ? rooms.get(frame.room) : null;
  if (frame.room && !room && frame.type !== "error") return;
  handler(frame, room);
});

socket.addEventListener("disconnected", () => {
  for (const room of rooms.values()) {
    room.joined = false;
    room.catchupSince = 0;
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
  $("char-count").textContent = left < 200 ? ` · ${left} left` : "";
}

input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    submitMessage();
  }
});
input.addEventListener("input", () => {
  autoGrow();
  const room = activeRoom();
  const now = Date.now();
  if (room && input.value.trim() && now - lastTypingSent > TYPING_SEND_EVERY_MS && socket.isOpen) {
    lastTypingSent = now;
    socket.send({ type: "typing", room: room.name });
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

$("leave-btn").addEventListener("click", () => active && leave(active));

$("join-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const field = $("room-input");
  const error = $("join-error");
  const name = field.value.trim().toLowerCase().replace(/^#/, "");
  if (!roomRe.test(name)) {
    error.textContent = name
      ? "Room names use a-z, 0-9, - and _, start with a letter or digit, and have at most 64 characters."
      : "Type a room name.";
    field.setAttribute("aria-invalid", "true");
    return;
  }
  if (!rooms.has(name) && rooms.size >= limits.max_rooms) {
    error.textContent = `You can be in at most ${limits.max_rooms} rooms. Leave one first.`;
    return;
  }
  error.textContent = "";
  field.removeAttribute("aria-invalid");
  field.value = "";
  addRoom(name);
  activate(name);
  chrome.setSidebar(false);
  input.focus();
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
const saved = prefs.rooms;
const initial = (saved ?? ["general"]).filter((name) => roomRe.test(name));
if (config.initialRoom && !initial.includes(config.initialRoom)) initial.push(config.initialRoom);
for (const name of initial) addRoom(name);
const start = config.initialRoom || (rooms.has(prefs.active) ? prefs.active : initial[0]) || null;
activate(start);
ui.showConnection(socket.state);
socket.start();
if (start && window.matchMedia("(min-width: 720px)").matches) input.focus();
window.chatApp = { rooms, socket }; // for debugging and the browser tests
