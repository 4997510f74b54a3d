// Browser notifications, opt-in: after the user turns them on (the browser asks for permission),
// a message shows a notification while the tab is hidden: every message of a room set to "all",
// only mentions in rooms set to "mentions" or muted ("none"). One notification per message.

import { gettext, interpolate, ngettext } from "./i18n.js";

const BODY_CHARS = 140;
const SVG_NS = "http://www.w3.org/2000/svg";
const BELL = "M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z";
const REMEMBER = 500; // message keys remembered to notify once

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function bellIcon() {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "16");
  svg.setAttribute("height", "16");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", BELL);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

/** The "@2" badge of a room with unread mentions of the user. */
export function mentionBadge(count) {
  const badge = el("span", "mention-badge", `@${count > 99 ? "99+" : count}`);
  badge.dataset.count = String(count);
  badge.setAttribute("aria-label", interpolate(ngettext("%(count)s mention", "%(count)s mentions", count), { count }));
  return badge;
}

/**
 * Wire the opt-in button (added to `container`) and return {onMessage, onMention}. `prefs` keeps the
 * choice per user; `openRoom(id)` shows a room when a notification is clicked.
 */
export function setupNotifications({ me, prefs, container, openRoom, toast }) {
  const supported = typeof window.Notification === "function";
  const shown = new Set();
  let enabled = supported && prefs.read("notifications", false) && Notification.permission === "granted";

  const button = el("button", "side-btn notify-btn");
  button.type = "button";
  button.id = "notify-btn";
  button.hidden = !supported;
  container.append(button);

  const label = el("span");
  button.append(bellIcon(), label);

  function render() {
    button.setAttribute("aria-pressed", String(enabled));
    label.textContent = enabled ? gettext("Notifications on") : gettext("Turn on notifications");
    button.title = enabled
      ? gettext("You get a notification for mentions while this tab is hidden. Click to turn off.")
      : gettext("Get a browser notification when someone mentions you.");
  }

  button.addEventListener("click", async () => {
    if (enabled) {
      enabled = false;
      prefs.write("notifications", false);
      render();
      return;
    }
    const permission = Notification.permission === "default" ? await Notification.requestPermission() : Notification.permission;
    if (permission !== "granted") {
      toast(gettext("Notifications are blocked for this site in the browser's settings."), "error");
      return;
    }
    enabled = true;
    prefs.write("notifications", true);
    render();
  });
  render();

  function show(room, msg, title) {
    const key = `${room.id}:${msg.seq}`;
    if (!enabled || Notification.permission !== "granted" || document.visibilityState !== "hidden") return;
    if (msg.author === me || msg.deleted || shown.has(key)) return;
    shown.add(key);
    if (shown.size > REMEMBER) shown.delete(shown.values().next().value);
    const body = String(msg.body || "").replace(/\s+/g, " ").slice(0, BODY_CHARS);
    try {
      const note = new Notification(title, { body, tag: key });
      note.onclick = () => {
        window.focus();
        openRoom(room.id);
        note.close();
      };
    } catch {
      // Some browsers only allow notifications from a service worker; the badge and title still show.
    }
  }

  return {
    /** A live message in a joined room. */
    onMessage(room, msg, mentionsMe) {
      if (mentionsMe) {
        this.onMention(room, msg);
      } else if (room.notify === "all") {
        show(room, msg, interpolate(gettext("%(author)s in %(room)s"), { author: msg.author, room: room.title }));
      }
    },
    /** A `mention` event (also for rooms not open): every level notifies. */
    onMention(room, msg) {
      show(room, msg, interpolate(gettext("%(author)s mentioned you in %(room)s"), { author: msg.author, room: room.title }));
    },
  };
}
