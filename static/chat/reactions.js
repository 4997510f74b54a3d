// Reactions: a small emoji picker (a fixed set plus those already on the message) and toggling a
// reaction on click (react when the user has not reacted with that emoji, unreact when they have).

import { gettext } from "./i18n.js";

export const COMMON_EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀", "🚀", "✅", "🔥", "👎"];

let picker = null;

/** Send `react` or `unreact` for `emoji` on `msg`, whichever flips the user's reaction. */
export function toggleReaction({ send, me, room, msg, emoji }) {
  if (!room || !msg || msg.deleted || !emoji) return;
  const mine = (msg.reactions || []).some((r) => r.emoji === emoji && (r.users || []).includes(me));
  send({ type: mine ? "unreact" : "react", room: room.id, seq: msg.seq, emoji });
}

function closePicker() {
  if (!picker) return;
  picker.remove();
  document.removeEventListener("pointerdown", onOutside, true);
  document.removeEventListener("keydown", onKey, true);
  picker = null;
}

function onOutside(e) {
  if (picker && !picker.contains(e.target)) closePicker();
}

function onKey(e) {
  if (e.key === "Escape" && picker) {
    e.stopPropagation();
    const anchor = picker.anchor;
    closePicker();
    anchor?.focus();
  }
}

/** Open the picker next to `anchor` for `msg`; choosing an emoji toggles it. */
export function openReactionPicker({ anchor, send, me, room, msg }) {
  closePicker();
  const present = (msg.reactions || []).map((r) => r.emoji);
  const choices = [...new Set([...COMMON_EMOJI, ...present])];
  picker = document.createElement("div");
  picker.className = "emoji-picker";
  picker.setAttribute("role", "dialog");
  picker.setAttribute("aria-label", gettext("Pick a reaction"));
  picker.anchor = anchor;
  for (const emoji of choices) {
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "emoji-choice";
    btn.textContent = emoji;
    btn.dataset.emoji = emoji;
    const mine = (msg.reactions || []).some((r) => r.emoji === emoji && (r.users || []).includes(me));
    btn.setAttribute("aria-pressed", String(mine));
    btn.addEventListener("click", () => {
      toggleReaction({ send, me, room, msg: room.messages.get(msg.seq) || msg, emoji });
      closePicker();
    });
    picker.append(btn);
  }
  document.body.append(picker);
  // Fixed next to the button, kept inside the viewport (a phone is narrow).
  const rect = anchor.getBoundingClientRect();
  const width = picker.offsetWidth;
  const height = picker.offsetHeight;
  const left = Math.max(8, Math.min(rect.right - width, window.innerWidth - width - 8));
  const top = rect.top - height - 6 >= 8 ? rect.top - height - 6 : Math.min(rect.bottom + 6, window.innerHeight - height - 8);
  picker.style.left = `${left}px`;
  picker.style.top = `${top}px`;
  picker.querySelector("button")?.focus();
  setTimeout(() => {
    document.addEventListener("pointerdown", onOutside, true);
    document.addEventListener("keydown", onKey, true);
  }, 0);
}
