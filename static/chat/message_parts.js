// The parts of a message row around its text: the quoted original of a reply, the "(edited)"
// marker, the reaction chips and the mention highlight. Text only ever goes through textContent.

import { gettext, interpolate, ngettext } from "./i18n.js";
import { renderMarkdown } from "./markdown.js";

const fullFmt = new Intl.DateTimeFormat(document.documentElement.lang || undefined, { dateStyle: "full", timeStyle: "short" });

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** True when `msg` names `me` (or the whole room) and was written by someone else. */
export function mentionsMe(msg, me) {
  if (!msg || msg.author === me || msg.deleted) return false;
  return Boolean(msg.mentions_room) || (Array.isArray(msg.mentions) && msg.mentions.includes(me));
}

/** The quoted original above a reply (a button: clicking it jumps to the original). */
export function replyQuote(preview) {
  const quote = el("button", "reply-quote");
  quote.type = "button";
  quote.dataset.seq = String(preview.seq);
  quote.title = gettext("Show the original message");
  quote.append(el("span", "reply-author", preview.author || ""));
  if (preview.deleted) quote.append(el("em", "reply-excerpt", gettext("message deleted")));
  else quote.append(el("span", "reply-excerpt", preview.excerpt || ""));
  return quote;
}

/** "(edited)", its title the time of the last edit. */
export function editedMark(editedAt) {
  const mark = el("span", "edited-mark", gettext("(edited)"));
  mark.title = interpolate(gettext("Edited %(time)s"), { time: fullFmt.format(editedAt) });
  return mark;
}

/** Who reacted, for a chip's title: "ana, bo and you reacted with 👍". */
export function reactionTitle(reaction, me) {
  const users = Array.isArray(reaction.users) ? reaction.users : [];
  const names = users.map((u) => (u === me ? gettext("you") : u));
  return interpolate(gettext("%(names)s reacted with %(emoji)s"), { names: names.join(", "), emoji: reaction.emoji });
}

/** The reaction chips under a message (and a button to add one). */
export function reactionChips(reactions, me) {
  const box = el("div", "reactions");
  for (const reaction of reactions) {
    if (!reaction || typeof reaction.emoji !== "string" || !(reaction.count > 0)) continue;
    const mine = Array.isArray(reaction.users) && reaction.users.includes(me);
    const chip = el("button", "reaction");
    chip.type = "button";
    chip.dataset.emoji = reaction.emoji;
    chip.setAttribute("aria-pressed", String(mine));
    chip.title = reactionTitle(reaction, me);
    chip.setAttribute("aria-label", interpolate(ngettext("%(emoji)s: %(count)s reaction", "%(emoji)s: %(count)s reactions",
      reaction.count), { emoji: reaction.emoji, count: reaction.count }));
    chip.append(el("span", "reaction-emoji", reaction.emoji), el("span", "reaction-count", String(reaction.count)));
    box.append(chip);
  }
  if (!box.children.length) return null;
  const add = el("button", "reaction-add", "+");
  add.type = "button";
  add.title = gettext("Add a reaction");
  add.setAttribute("aria-label", gettext("Add a reaction"));
  box.append(add);
  return box;
}

/** The text of a message (Markdown) or its tombstone, with "(edited)" after the last paragraph. */
export function fillBody(body, msg, me) {
  const key = JSON.stringify([msg.deleted, msg.body, msg.edited_at, msg.mentions, msg.mentions_room]);
  if (body.dataset.shown === key) return;
  body.dataset.shown = key;
  if (msg.deleted) {
    body.replaceChildren(el("em", "deleted-note", gettext("message deleted")));
    return;
  }
  body.replaceChildren(renderMarkdown(msg.body || "", { me, mentions: msg.mentions, mentionsRoom: msg.mentions_room }));
  if (msg.edited_at) {
    const last = body.lastElementChild?.tagName === "P" ? body.lastElementChild : body;
    last.append(" ", editedMark(msg.edited_at));
  }
}

/** Bring the reply quote, edited marker, reactions and highlight of `row` up to date with `msg`. */
export function updateMessageParts(row, msg, me) {
  const main = row.querySelector(".msg-main");
  const body = row.querySelector(".msg-body");
  row.querySelector(":scope > .msg-main > .reply-quote")?.remove();
  if (msg.reply_preview && Number.isInteger(msg.reply_preview.seq)) body.before(replyQuote(msg.reply_preview));
  main.querySelector(":scope > .reactions")?.remove();
  const chips = !msg.deleted && Array.isArray(msg.reactions) && msg.reactions.length ? reactionChips(msg.reactions, me) : null;
  if (chips) body.after(chips);
  row.classList.toggle("mentions-me", mentionsMe(msg, me));
  row.classList.toggle("edited", Boolean(msg.edited_at));
}
