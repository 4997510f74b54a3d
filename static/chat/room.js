// One room of the sidebar: what the server says of it (name, kind, role, read marker) and, once
// joined, its messages ordered by seq, pending sends and its own scrolling log.

import { gettext, interpolate } from "./i18n.js";
import { createMessageElement, regroup, updateMessageElement } from "./render.js";

const AT_BOTTOM_PX = 48;
// Two server processes may deliver a room's messages out of order: a live message past lastSeq + 1
// waits this long for the missing seqs before a catchup is asked for (tests/faults/harness.py: the same).
export const REORDER_MS = 300;

export class Room {
  constructor(entry, me) {
    this.id = entry.room;
    this.me = me;
    this.title = entry.room;
    this.kind = "public";
    this.topic = "";
    this.role = null;
    this.notify = "all";
    this.peers = [];
    this.mentionSeqs = new Set(); // seqs of unread messages that mention the user (live `mention` events)
    this.mentionsListed = 0; // the room entry's count of unread mentions (which seqs is not said)
    this.readSeq = 0; // the user's read marker (server-side, shared by every device)
    this.serverReadSeq = 0; // the marker the server has (from a frame or our last `read`)
    this.readSentAt = 0;
    this.readTimer = null;
    this.joining = false;
    this.knownLastSeq = 0; // the highest seq the server or a frame told us of
    this.listed = false; // in the sidebar (the server says the user is a member)
    this.lastViewed = 0;
    this.markerSeq = null; // "New messages" goes above the first row after this seq
    this.applyEntry(entry);
    this.messages = new Map(); // seq -> message
    this.rows = new Map(); // seq -> element
    this.order = []; // ascending seqs shown
    this.pending = new Map(); // client_id -> {msg, row}
    this.lastSeq = 0; // highest seq with no gap below it (down to the oldest loaded)
    this.lastChange = 0; // highest change_seq with none missing below it (edits, deletions, reactions)
    this.changesAhead = new Set(); // change_seqs applied above a missing one (inside the reorder window)
    this.changeGapTimer = null;
    this.changesSince = 0; // when the last change catch-up was asked for (0: none running)
    this.jumped = false; // a page around an older seq was loaded: there may be a hole above the newest block
    this.synced = false; // the first page arrived; gaps are meaningful from then on
    this.joined = false;
    this.hasMore = true;
    this.historyRequest = null; // "initial" | "older" | null
    this.catchupSince = 0; // when the last catchup was asked for (0: none running)
    this.gapTimer = null; // the reorder window of an open gap
    this.users = [];
    this.typers = new Map(); // user -> expiry time

    this.log = document.createElement("div");
    this.log.className = "log";
    this.log.id = `log-${this.id}`;
    this.log.tabIndex = 0;
    this.log.setAttribute("role", "log");
    this.log.setAttribute("aria-live", "polite");
    this.log.setAttribute("aria-relevant", "additions");
    this.log.setAttribute("aria-label", interpolate(gettext("Messages in %(room)s"), { room: this.title }));
    this.log.dataset.room = this.id;
    this.log.hidden = true;
    this.top = document.createElement("div");
    this.top.className = "log-top";
    this.list = document.createElement("div");
    this.list.className = "msg-list";
    this.log.append(this.top, this.list);
    this.setTop("loading");
  }

  /** Take what a `rooms`/`room`/`created`/`joined` frame says; the read marker only moves forward. */
  applyEntry(entry) {
    if (["public", "private", "direct"].includes(entry.kind)) this.kind = entry.kind;
    if (typeof entry.name === "string" && entry.name) this.title = entry.name;
    if (Array.isArray(entry.peers)) {
      this.peers = entry.peers;
    } else if (this.kind === "direct" && typeof entry.name === "string") {
      // `joined` carries a DM's stored name, its usernames joined by ","; show the other people.
      const users = entry.name.split(",");
      this.peers = users.filter((u) => u !== this.me);
      if (!this.peers.length) this.peers = users;
    }
    if (this.kind === "direct" && this.peers.length) this.title = this.peers.join(", ");
    if (typeof entry.topic === "string") this.topic = entry.topic;
    if (["all", "mentions", "none"].includes(entry.notify)) this.notify = entry.notify;
    if (entry.role !== undefined) this.role = entry.role;
    if (Number.isInteger(entry.last_seq)) this.knownLastSeq = Math.max(this.knownLastSeq, entry.last_seq);
    if (Number.isInteger(entry.last_read_seq)) this.noteRead(entry.last_read_seq);
    if (Number.isInteger(entry.mentions)) {
      this.mentionsListed = entry.mentions; // counts the live events seen so far too
      this.mentionSeqs.clear();
    }
    this.log?.setAttribute("aria-label", interpolate(gettext("Messages in %(room)s"), { room: this.title }));
  }

  /** The server says the marker is at `seq` (a frame, or the echo of a `read`). */
  noteRead(seq) {
    this.readSeq = Math.max(this.readSeq, seq);
    this.serverReadSeq = Math.max(this.serverReadSeq, seq);
  }

  get readSeq() {
    return this._readSeq;
  }

  /** Moving the read marker clears the mentions it passes. */
  set readSeq(seq) {
    this._readSeq = seq;
    for (const s of this.mentionSeqs) if (s <= seq) this.mentionSeqs.delete(s);
    if (seq >= this.knownLastSeq) this.mentionsListed = 0;
  }

  /** Unread messages that mention the user. */
  get mentions() {
    return this.mentionsListed + this.mentionSeqs.size;
  }

  /** A live `mention` event; false when it was read already or counted. */
  noteMention(seq) {
    if (seq <= this.readSeq || this.mentionSeqs.has(seq)) return false;
    this.mentionSeqs.add(seq);
    this.knownLastSeq = Math.max(this.knownLastSeq, seq);
    return true;
  }

  get unread() {
    return Math.max(0, this.knownLastSeq - this.readSeq);
  }

  get canManage() {
    return this.kind !== "direct" && (this.role === "owner" || this.role === "admin");
  }

  get oldestSeq() {
    return this.order.length ? this.order[0] : null;
  }

  get newestSeq() {
    return this.order.length ? this.order[this.order.length - 1] : 0;
  }

  isAtBottom() {
    const log = this.log;
    return log.scrollHeight - log.scrollTop - log.clientHeight < AT_BOTTOM_PX;
  }

  firstVisibleRow() {
    const top = this.log.getBoundingClientRect().top;
    for (const row of this.list.children) if (row.getBoundingClientRect().bottom > top) return row;
    return null;
  }

  scrollToBottom() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  setTop(state) {
    this.top.dataset.state = state;
    const start = this.kind === "direct"
      ? gettext("This is the beginning of your conversation with %(room)s.")
      : gettext("This is the beginning of %(room)s.");
    this.top.textContent =
      state === "loading" ? gettext("Loading messages…") : state === "start" ? interpolate(start, { room: this.title }) : "";
  }

  /** Insert server messages (any order, duplicates ignored); return those that were new. */
  insert(messages) {
    const added = [];
    for (const msg of messages) {
      if (!Number.isInteger(msg.seq) || msg.seq < 1) continue;
      if (this.messages.has(msg.seq)) {
        this.replaceMessage(msg);
        continue;
      }
      const clean = { ...msg, status: "confirmed" };
      this.messages.set(msg.seq, clean);
      const pending = msg.client_id && msg.author === this.me ? this.pending.get(msg.client_id) : null;
      let row;
      if (pending) {
        this.pending.delete(msg.client_id);
        row = pending.row;
        updateMessageElement(row, clean);
      } else {
        row = createMessageElement(clean, this.me);
      }
      this.placeRow(msg.seq, row);
      added.push(clean);
      this.knownLastSeq = Math.max(this.knownLastSeq, msg.seq);
    }
    if (added.length) {
      while (this.messages.has(this.lastSeq + 1)) this.lastSeq += 1;
      this.placeMarker();
      regroup(this.list);
    }
    return added;
  }

  placeRow(seq, row) {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.order[mid] < seq) lo = mid + 1;
      else hi = mid;
    }
    this.order.splice(lo, 0, seq);
    this.rows.set(seq, row);
    const nextSeq = this.order[lo + 1];
    const before = nextSeq !== undefined ? this.rows.get(nextSeq) : this.firstPendingRow();
    this.list.insertBefore(row, before || null);
  }

  firstPendingRow() {
    for (const { row } of this.pending.values()) if (row.isConnected) return row;
    return null;
  }

  /** First page: everything up to here is known, so start counting contiguous seqs from it. */
  markSynced(messages) {
    const seqs = messages.map((m) => m.seq);
    this.lastSeq = Math.max(this.lastSeq, seqs.length ? Math.max(...seqs) : 0);
    while (this.messages.has(this.lastSeq + 1)) this.lastSeq += 1;
    this.synced = true;
  }

  /** Live `message` whose seq jumps past lastSeq + 1: something was missed. */
  hasGapBefore(seq) {
    return this.synced && seq > this.lastSeq + 1;
  }

  /** Call `onDue` once REORDER_MS from now if a gap is still open then (one window at a time). */
  awaitGap(onDue) {
    if (this.gapTimer) return;
    this.gapTimer = setTimeout(() => {
      this.gapTimer = null;
      if (this.newestSeq > this.lastSeq) onDue();
    }, REORDER_MS);
  }

  /** A `heads` entry (the server's live updates were interrupted): true when messages are missing. */
  noteHead(head) {
    if (!head || !Number.isInteger(head.last_seq)) return false;
    this.knownLastSeq = Math.max(this.knownLastSeq, head.last_seq);
    return this.synced && head.last_seq > this.lastSeq;
  }

  /** A catchup answer is expected; after a while without one, a new gap may ask again. */
  isCatchingUp() {
    return Date.now() - this.catchupSince < 5000;
  }

  /**
   * A message's whole current state (an `update`, a `changes` page, or a page that overlaps what is
   * shown); an older state than the one shown (lower change_seq) is ignored. False when not loaded.
   */
  replaceMessage(msg, force = false) {
    const existing = this.messages.get(msg.seq);
    if (!existing) return false;
    if (force) {
      this.messages.set(msg.seq, msg);
      updateMessageElement(this.rows.get(msg.seq), msg);
      return true;
    }
    const incoming = msg.change_seq || 0;
    const current = existing.change_seq || 0;
    if (incoming < current) return true;
    // The same version again changes nothing, unless ours was built from an ack (no mentions, no preview).
    if (incoming === current && !existing.local && !(msg.deleted && !existing.deleted)) return true;
    const clean = { ...msg, status: "confirmed" };
    this.messages.set(msg.seq, clean);
    updateMessageElement(this.rows.get(msg.seq), clean);
    return true;
  }

  /** After a jump to an older message: the seq just above the gap below the newest block, or null. */
  holeAbove() {
    return this.hole()?.top ?? null;
  }

  /** After a jump: {top, size} of the gap between the loaded page and the newest block, or null. */
  hole() {
    if (!this.jumped) return null;
    for (let i = this.order.length - 1; i > 0; i -= 1) {
      if (this.order[i - 1] !== this.order[i] - 1) return { top: this.order[i], size: this.order[i] - this.order[i - 1] - 1 };
    }
    this.jumped = false;
    return null;
  }

  addPending(body, clientId, extra = {}) {
    const msg = { author: this.me, body, client_id: clientId, created_at: Date.now(), status: "pending", room: this.id,
      ...extra };
    const row = createMessageElement(msg, this.me);
    this.pending.set(clientId, { msg, row, sentAt: 0 });
    this.list.append(row);
    regroup(this.list);
    return msg;
  }

  setPendingStatus(clientId, status, error) {
    const entry = this.pending.get(clientId);
    if (!entry) return;
    entry.msg.status = status;
    entry.msg.error = error;
    updateMessageElement(entry.row, entry.msg);
  }

  /** An ack: the pending row becomes the stored message with its seq. */
  acknowledge(ack) {
    const entry = this.pending.get(ack.client_id);
    if (!entry) return;
    this.insert([{ ...entry.msg, id: ack.id, seq: ack.seq, created_at: ack.created_at, deleted: false, local: true }]);
  }

  /** Show "New messages" above the first message of someone else after `seq` (null: none). */
  setMarker(seq) {
    this.markerSeq = seq;
    this.placeMarker();
    regroup(this.list);
  }

  placeMarker() {
    let target = null;
    if (this.markerSeq !== null) {
      for (let i = this.order.length - 1; i >= 0 && this.order[i] > this.markerSeq; i -= 1) {
        const msg = this.messages.get(this.order[i]);
        if (msg.author !== this.me) target = this.rows.get(this.order[i]);
      }
    }
    const current = this.list.querySelector(".new-divider");
    if (current && current.parentElement === target) return;
    current?.remove();
    if (!target) return;
    const line = document.createElement("div");
    line.className = "new-divider";
    line.setAttribute("role", "separator");
    const label = document.createElement("span");
    label.textContent = gettext("New messages");
    line.append(label);
    target.prepend(line);
  }

  typingText() {
    const now = Date.now();
    for (const [user, until] of this.typers) if (until < now) this.typers.delete(user);
    const names = [...this.typers.keys()];
    if (!names.length) return "";
    if (names.length === 1) return interpolate(gettext("%(user)s is typing…"), { user: names[0] });
    if (names.length === 2) return interpolate(gettext("%(user)s and %(other)s are typing…"), { user: names[0], other: names[1] });
    return gettext("Several people are typing…");
  }
}
