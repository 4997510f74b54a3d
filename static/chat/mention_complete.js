// Completing `@name` in the composer: after "@", the names of people seen in the open room
// (online now, authors of the loaded messages, a DM's peers) that start with what was typed.
// Arrow keys move, Enter or Tab takes a name, Escape closes.

import { gettext } from "./i18n.js";

const MAX_SHOWN = 6;
const TOKEN_RE = /(^|\s)@([\p{L}\p{N}_.+-]{0,40})$/u; // any script: @김민지

/** Names to offer in `room` for `prefix` (case-insensitive), the people online first. */
export function mentionCandidates(room, me, prefix) {
  if (!room) return [];
  const names = new Set([...(room.users || []), ...(room.peers || [])]);
  for (let i = room.order.length - 1; i >= 0 && names.size < 500; i -= 1) names.add(room.messages.get(room.order[i]).author);
  names.delete(me);
  const lower = prefix.toLowerCase();
  return [...names].filter((name) => name.toLowerCase().startsWith(lower)).slice(0, MAX_SHOWN);
}

/** Wire the completion list to `input`; `activeRoom()` is the open Room. */
export function setupMentionComplete({ input, me, activeRoom }) {
  const list = document.createElement("ul");
  list.className = "mention-complete";
  list.id = "mention-complete";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", gettext("People to mention"));
  list.hidden = true;
  input.closest("form").append(list);
  input.setAttribute("aria-controls", list.id);
  let names = [];
  let selected = 0;
  let token = null; // {start, end} of "@prefix" in the input

  function close() {
    list.hidden = true;
    names = [];
    token = null;
    input.removeAttribute("aria-activedescendant");
  }

  function render() {
    list.replaceChildren(...names.map((name, i) => {
      const li = document.createElement("li");
      li.id = `mention-option-${i}`;
      li.className = "mention-option";
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", String(i === selected));
      li.dataset.name = name;
      li.textContent = `@${name}`;
      return li;
    }));
    list.hidden = !names.length;
    if (names.length) input.setAttribute("aria-activedescendant", `mention-option-${selected}`);
  }

  function update() {
    const caret = input.selectionStart;
    if (caret !== input.selectionEnd) return close();
    const match = TOKEN_RE.exec(input.value.slice(0, caret));
    if (!match) return close();
    token = { start: caret - match[2].length - 1, end: caret };
    names = mentionCandidates(activeRoom(), me, match[2]);
    selected = Math.min(selected, Math.max(0, names.length - 1));
    render();
  }

  function accept(name) {
    if (!token) return;
    const before = input.value.slice(0, token.start);
    const after = input.value.slice(token.end);
    input.value = `${before}@${name} ${after}`;
    const caret = before.length + name.length + 2;
    input.setSelectionRange(caret, caret);
    close();
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  input.addEventListener("input", update);
  input.addEventListener("click", update);
  input.addEventListener("blur", () => setTimeout(close, 150));
  input.addEventListener("keydown", (e) => {
    if (list.hidden || !names.length) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      selected = (selected + (e.key === "ArrowDown" ? 1 : names.length - 1)) % names.length;
      render();
    } else if ((e.key === "Enter" || e.key === "Tab") && !e.shiftKey && !e.isComposing) {
      accept(names[selected]);
    } else if (e.key === "Escape") {
      close();
    } else {
      return;
    }
    e.preventDefault();
    e.stopImmediatePropagation(); // the composer's own Enter (send) and Escape (cancel reply) wait
  });
  list.addEventListener("mousedown", (e) => {
    const option = e.target.closest(".mention-option");
    if (!option) return;
    e.preventDefault(); // keep the focus in the composer
    accept(option.dataset.name);
  });
}
