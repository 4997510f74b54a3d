// What the browser remembers per user: only the open room. The room list and the read markers
// are the server's (the `rooms` frame), so every device shows the same.

export class Prefs {
  constructor(user) {
    this.prefix = `ember:${user}:`;
    try {
      // Left by the page before the server kept rooms and read markers.
      localStorage.removeItem(`${this.prefix}rooms`);
      localStorage.removeItem(`${this.prefix}read`);
    } catch {
      // Storage disabled: nothing to clean.
    }
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

  get active() {
    return this.read("active", null);
  }

  set active(name) {
    this.write("active", name);
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
