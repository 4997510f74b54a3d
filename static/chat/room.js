// One joined room: its messages ordered by seq, pending sends, and its own scrolling log.

import { createMessageElement, regroup, updateMessageElement } from "./render.js";

const AT_BOTTOM_PX = 48;

export class Room {
  constructor(name, me) {
    this.name = name;
    this.me = me;
    this.messages = new Map(); // seq -> message
    this.rows = new Map(); // seq -> element
    this.order = []; // ascending seqs shown
    this.pending = new Map(); // client_id -> {msg, row}
    this.lastSeq = 0; // highest seq with no gap below it (down to the oldest loaded)
    this.synced = false; // the first page arrived; gaps are meaningful from then on
    this.joined = false;
    this.hasMore = true;
    this.historyRequest = null; // "initial" | "older" | null
    this.catchupSince = 0; // when the last catchup was asked for (0: none running)
    this.unread = 0;
    this.readSeq = null;
    this.users = [];
    this.typers = new Map(); // user -> expiry time

    this.log = document.createElement("div");
    this.log.className = "log";
    this.log.id = `log-${name}`;
    this.log.tabIndex = 0;
    this.log.setAttribute("role", "log");
    this.log.setAttribute("aria-live", "polite");
    this.log.setAttribute("aria-relevant", "additions");
    this.log.setAttribute("aria-label", `Messages in #${name}`);
    this.log.dataset.room = name;
    this.log.hidden = true;
    this.top = document.createElement("div");
    this.top.className = "log-top";
    this.list = document.createElement("div");
    this.list.className = "msg-list";
    this.log.append(this.top, this.list);
    this.setTop("loading");
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
    this.top.textContent =
      state === "loading" ? "Loading messages…" : state === "start" ? `This is the beginning of #${this.name}.` : "";
  }

  /** Insert server messages (any order, duplicates ignored); return those that were new. */
  insert(messages) {
    const added = [];
    for (const msg of messages) {
      if (!Number.isInteger(msg.seq) || msg.seq < 1) continue;
      const existing = this.messages.get(msg.seq);
      if (existing) {
        if (msg.deleted && !existing.deleted) this.markDeleted(msg.seq);
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
    }
    if (added.length) {
      while (this.messages.has(this.lastSeq + 1)) this.lastSeq += 1;
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

  /** A catchup answer is expected; after a while without one, a new gap may ask again. */
  isCatchingUp() {
    return Date.now() - this.catchupSince < 5000;
  }

  markDeleted(seq) {
    const msg = this.messages.get(seq);
    if (!msg) return;
    msg.deleted = true;
    msg.body = "";
    updateMessageElement(this.rows.get(seq), msg);
  }

  addPending(body, clientId) {
    const msg = { author: this.me, body, client_id: clientId, created_at: Date.now(), status: "pending", room: this.name };
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
    this.insert([{ ...entry.msg, id: ack.id, seq: ack.seq, created_at: ack.created_at, deleted: false }]);
  }

  typingText() {
    const now = Date.now();
    for (const [user, until] of this.typers) if (until < now) this.typers.delete(user);
    const names = [...this.typers.keys()];
    if (!names.length) return "";
    if (names.length === 1) return `${names[0]} is typing…`;
    if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
    return "Several people are typing…";
  }
}
