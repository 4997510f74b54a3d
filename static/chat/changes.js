// The change cursor of a room (docs/protocol.md, "Edits, deletions, reactions"): every change to an
// existing message carries the room's gap-free change_seq, so a client that keeps the highest one
// it applied can tell when it missed one and ask for everything changed since.

import { REORDER_MS } from "./room.js";

const CHANGES_ANSWER_MS = 5000;

/** `joined`: before the first page the room's change head is where the cursor starts. */
export function noteJoined(room, frame) {
  const head = Number.isInteger(frame.last_change_seq) ? frame.last_change_seq : null;
  if (!room.synced) {
    if (head !== null) room.lastChange = head; // the first page carries the current state
  } else if (head === null || head <= room.lastChange) {
    room.changesSince = 0; // nothing missed: no `changes` page will come
  }
}

/** Fields for a `join` after a reconnect: what we have, so only what we missed is sent. */
export function joinCursor(room) {
  room.changesSince = Date.now();
  return { after: room.lastSeq, after_change: room.lastChange };
}

const EXCERPT_CHARS = 140;

/** Replies shown below keep quoting the original as it is now (edited or deleted). */
function refreshReplies(room, original) {
  const flat = original.deleted ? "" : String(original.body || "").replace(/\s+/g, " ").trim();
  const preview = { seq: original.seq, author: original.author, excerpt: flat.slice(0, EXCERPT_CHARS),
    deleted: Boolean(original.deleted) };
  for (const msg of room.messages.values()) {
    if (msg.reply_to !== original.seq || !msg.reply_preview) continue;
    const { excerpt, deleted } = msg.reply_preview;
    if (excerpt === preview.excerpt && deleted === preview.deleted) continue;
    room.replaceMessage({ ...msg, reply_preview: preview, local: true }, true);
  }
}

/**
 * A live `update`: apply the message's state (the highest change_seq wins, whatever the order). True when
 * changes before it are still missing: the cursor waits, and awaitChanges asks for them if they do not
 * arrive within the reorder window (updates published by different processes may cross).
 */
export function applyUpdate(room, msg) {
  room.replaceMessage(msg);
  refreshReplies(room, msg);
  const changeSeq = msg.change_seq;
  if (!Number.isInteger(changeSeq) || changeSeq <= room.lastChange) return false;
  if (room.synced && changeSeq > room.lastChange + 1) {
    room.changesAhead.add(changeSeq);
    return true;
  }
  room.lastChange = changeSeq;
  while (room.changesAhead.delete(room.lastChange + 1)) room.lastChange += 1;
  return room.changesAhead.size > 0;
}

/** Ask (`onDue`) for the missing changes if they are still missing after the reorder window. */
export function awaitChanges(room, onDue) {
  if (room.changeGapTimer) return;
  room.changeGapTimer = setTimeout(() => {
    room.changeGapTimer = null;
    if (room.changesAhead.size && !changesPending(room)) onDue();
  }, REORDER_MS);
}

/** A `changes` page: every message's current state; the final page moves the cursor to the head read. */
export function applyChangesPage(room, frame) {
  const messages = Array.isArray(frame.messages) ? frame.messages : [];
  let top = room.lastChange;
  for (const msg of messages) {
    if (!msg || !Number.isInteger(msg.seq)) continue;
    room.replaceMessage(msg);
  refreshReplies(room, msg);
    if (Number.isInteger(msg.change_seq)) top = Math.max(top, msg.change_seq);
  }
  if (!frame.has_more && Number.isInteger(frame.last_change_seq)) top = Math.max(top, frame.last_change_seq);
  room.lastChange = top;
  for (const seq of room.changesAhead) if (seq <= top) room.changesAhead.delete(seq);
  if (!frame.has_more) room.changesSince = 0;
}

/** A change catch-up is running (asked for less than a few seconds ago and not answered). */
export function changesPending(room) {
  return Date.now() - room.changesSince < CHANGES_ANSWER_MS;
}

/** The `catchup` frame asking for every change after the cursor. */
export function changesRequest(room) {
  room.changesSince = Date.now();
  return { type: "catchup", room: room.id, after_change: room.lastChange };
}
