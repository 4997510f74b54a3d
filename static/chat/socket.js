// One WebSocket to /ws/chat/ that reconnects by itself (exponential backoff with full jitter)
// and reports its state: "connecting" | "connected" | "reconnecting" | "offline".

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;
const PING_EVERY_MS = 25000;
const PONG_TIMEOUT_MS = 10000;
// After this many failed attempts in a row the badge says "offline" (we keep retrying).
const OFFLINE_AFTER_ATTEMPTS = 4;
// The server closes with this when the user's access ended (logout, deactivation, new password):
// reconnecting would only be refused again.
export const CLOSE_REVOKED = 4401;

export function socketUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

export function backoffDelay(attempt) {
  const cap = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
  // Full jitter keeps a crowd of tabs from reconnecting in lockstep after a server restart.
  return Math.round(cap / 2 + Math.random() * (cap / 2));
}

export class ChatSocket extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    this.ws = null;
    this.state = "connecting";
    this.attempt = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.stopped = false;
    window.addEventListener("online", () => this.reconnectNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && this.state !== "connected") this.reconnectNow();
    });
  }

  start() {
    this.stopped = false;
    this.open();
  }

  open() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.addEventListener("message", (event) => this.onMessage(event));
    ws.addEventListener("close", (event) => this.onClose(ws, event.code));
    // "error" is always followed by "close"; nothing to do here.
  }

  onMessage(event) {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!frame || typeof frame.type !== "string") return;
    if (frame.type === "hello") {
      this.attempt = 0;
      this.setState("connected");
      this.startHeartbeat();
    } else if (frame.type === "pong") {
      clearTimeout(this.pongTimer);
    }
    this.dispatchEvent(new CustomEvent("frame", { detail: frame }));
  }

  onClose(ws, code) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.stopHeartbeat();
    this.dispatchEvent(new Event("disconnected"));
    if (code === CLOSE_REVOKED) {
      this.stopped = true;
      this.setState("revoked");
      return;
    }
    if (!this.stopped) this.scheduleRetry();
  }

  scheduleRetry() {
    if (this.retryTimer) return;
    const offline = navigator.onLine === false || this.attempt >= OFFLINE_AFTER_ATTEMPTS;
    this.setState(offline ? "offline" : "reconnecting");
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  reconnectNow() {
    if (this.stopped || this.ws) return;
    this.attempt = 0;
    this.open();
  }

  startHeartbeat() {
    this.stopHeartbeat();
    this.pingTimer = setInterval(() => {
      if (!this.send({ type: "ping", id: Date.now() })) return;
      clearTimeout(this.pongTimer);
      // A half-open TCP connection never fires "close": force it so we reconnect.
      this.pongTimer = setTimeout(() => this.ws?.close(4000, "pong timeout"), PONG_TIMEOUT_MS);
    }, PING_EVERY_MS);
  }

  stopHeartbeat() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }

  get isOpen() {
    return this.state === "connected" && this.ws?.readyState === WebSocket.OPEN;
  }

  send(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify({ v: 1, ...frame }));
    return true;
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: state }));
  }
}
