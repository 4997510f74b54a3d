// Building message elements. User text only ever goes through textContent / text nodes.

import { gettext, interpolate, LANG, relativeTime } from "./i18n.js";
import { fillBody, updateMessageParts } from "./message_parts.js";

const GROUP_GAP_MS = 5 * 60 * 1000;
const HOUR = 60 * 60 * 1000;

const timeFmt = new Intl.DateTimeFormat(LANG, { hour: "numeric", minute: "2-digit" });
const dateFmt = new Intl.DateTimeFormat(LANG, { weekday: "short", month: "short", day: "numeric" });
const fullFmt = new Intl.DateTimeFormat(LANG, { dateStyle: "full", timeStyle: "medium" });
const dayFmt = new Intl.DateTimeFormat(LANG, { weekday: "long", month: "long", day: "numeric", year: "numeric" });

function sameDay(a, b) {
  const da = new Date(a);
  const db = new Date(b);
  return da.getFullYear() === db.getFullYear() && da.getMonth() === db.getMonth() && da.getDate() === db.getDate();
}

/** Short local time in the page's language: relative for the last hour, clock time today, date before. */
export function formatTime(ts, now = Date.now()) {
  const recent = relativeTime(ts, now);
  if (recent) return recent;
  if (sameDay(ts, now)) return timeFmt.format(ts);
  if (sameDay(ts, now - 24 * HOUR)) return interpolate(gettext("Yesterday %(time)s"), { time: timeFmt.format(ts) });
  return interpolate(gettext("%(date)s, %(time)s"), { date: dateFmt.format(ts), time: timeFmt.format(ts) });
}

export function formatDay(ts, now = Date.now()) {
  if (sameDay(ts, now)) return gettext("Today");
  if (sameDay(ts, now - 24 * HOUR)) return gettext("Yesterday");
  return dayFmt.format(ts);
}

export function avatarHue(name) {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)) % 360;
  return h;
}

export function fillAvatar(el, name) {
  el.textContent = (name[0] || "?").toUpperCase();
  el.style.setProperty("--hue", String(avatarHue(name)));
  el.title = name;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A message row: day divider, avatar, header (author, time), body, status line. */
export function createMessageElement(msg, me) {
  const row = el("article", "msg");
  row.setAttribute("aria-label", interpolate(gettext("Message from %(user)s"), { user: msg.author }));
  const day = el("div", "day-divider");
  day.setAttribute("role", "separator");
  day.append(el("span"));
  const avatar = el("span", "avatar");
  avatar.setAttribute("aria-hidden", "true");
  fillAvatar(avatar, msg.author);
  const main = el("div", "msg-main");
  const head = el("div", "msg-head");
  const author = el("span", "msg-author", msg.author);
  const time = el("time", "msg-time");
  head.append(author, time);
  const body = el("div", "msg-body");
  const status = el("div", "msg-status");
  status.setAttribute("aria-live", "polite");
  main.append(head, body, status);
  row.append(day, avatar, main);
  if (msg.author === me) row.classList.add("mine");
  row.dataset.me = me;
  updateMessageElement(row, msg);
  return row;
}

/** Bring an existing row up to date with `msg` (ack, deletion, failure). */
export function updateMessageElement(row, msg) {
  row.dataset.author = msg.author;
  if (msg.seq) row.dataset.seq = String(msg.seq);
  if (msg.client_id) row.dataset.clientId = msg.client_id;
  row.dataset.status = msg.status || "confirmed";
  const ts = msg.created_at || Date.now();
  row.dataset.ts = String(ts);
  const time = row.querySelector(".msg-time");
  time.dateTime = new Date(ts).toISOString();
  time.title = fullFmt.format(ts);
  time.textContent = formatTime(ts);
  row.classList.toggle("deleted", Boolean(msg.deleted));
  fillBody(row.querySelector(".msg-body"), msg, row.dataset.me);
  updateMessageParts(row, msg, row.dataset.me);
  const status = row.querySelector(".msg-status");
  status.replaceChildren();
  if (msg.status === "pending") {
    status.append(el("span", "status-pending", gettext("Sending…")));
  } else if (msg.status === "failed") {
    status.append(el("span", "status-failed", msg.error || gettext("Not sent.")));
    const retry = el("button", "retry-btn", gettext("Retry"));
    retry.type = "button";
    retry.dataset.clientId = msg.client_id;
    status.append(retry);
  }
}

/** Recompute grouping and day dividers for every row of a list (cheap: class toggles only). */
export function regroup(list) {
  let prev = null;
  for (const row of list.children) {
    const ts = Number(row.dataset.ts);
    const newDay = !prev || !sameDay(Number(prev.dataset.ts), ts);
    const divider = row.querySelector(":scope > .day-divider");
    divider.hidden = !newDay;
    if (newDay) divider.firstElementChild.textContent = formatDay(ts);
    const continued =
      prev &&
      !newDay &&
      !row.querySelector(":scope > .new-divider") &&
      prev.dataset.author === row.dataset.author &&
      ts - Number(prev.dataset.ts) < GROUP_GAP_MS;
    row.classList.toggle("continued", Boolean(continued));
    prev = row;
  }
}

/** Refresh relative times ("3 minutes ago", "3분 전") in one list. */
export function refreshTimes(list) {
  const now = Date.now();
  for (const time of list.querySelectorAll(".msg-time")) {
    const row = time.closest(".msg");
    time.textContent = formatTime(Number(row.dataset.ts), now);
  }
  regroup(list);
}
