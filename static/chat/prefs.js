// What the browser remembers per user: joined rooms, the open room, and the last seq read per room.

export class Prefs {
  constructor(user) {
    this.prefix = `ember:${user}:`;
  }

  read(key, fallback) {
    try {
      const raw = localStorage.getItem(this.prefix + key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch {
      return fallback;
    }
  }

  write(key, value) {
    try {
      localStorage.setItem(this.prefix + key, JSON.stringify(value));
    } catch {
      // Private mode or a full quota: the app still works, it just forgets.
    }
  }

  get rooms() {
    const rooms = this.read("rooms", null);
    return Array.isArray(rooms) ? rooms.filter((r) => typeof r === "string") : null;
  }

  set rooms(names) {
    this.write("rooms", names);
  }

  get active() {
    return this.read("active", null);
  }

  set active(name) {
    this.write("active", name);
  }

  readSeq(room) {
    const seq = this.read("read", {})[room];
    return Number.isInteger(seq) ? seq : null;
  }

  setReadSeq(room, seq) {
    const all = this.read("read", {});
    if (all[room] === seq) return;
    all[room] = seq;
    this.write("read", all);
  }

  forget(room) {
    const all = this.read("read", {});
    delete all[room];
    this.write("read", all);
  }
}

/** A client id for idempotent sends; crypto.randomUUID needs a secure context, so fall back. */
export function newClientId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
