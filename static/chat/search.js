// Message search: the search dialog, its `search` frames and the `search_results` it shows.
// Results come newest first with a cursor for more; a snippet's hits are <mark> elements built
// from text nodes (never innerHTML). Choosing a result opens its room at that message.
const gettext = window.gettext || ((s) => s);

/**
 * `send(frame)` sends a frame (false when the socket is closed); `rooms` is the page's Map of rooms
 * (for the room filter's names); `activeRoom()` the open room; `openMessage(room, seq)` shows a message.
 */
export function setupSearch({ send, rooms, activeRoom, openMessage }) {
  const $ = (id) => document.getElementById(id);
  const dialog = $("search-dialog");
  const form = $("search-form");
  const query = $("search-query");
  const scope = $("search-room");
  const author = $("search-author");
  const list = $("search-results");
  const status = $("search-status");
  const more = $("search-more");
  let asked = null; // the frame of the search shown (its cursor moves on with "More results")
  let cursor = null;

  function fillScope() {
    const keep = scope.value;
    scope.replaceChildren(new Option(gettext("All my rooms"), ""));
    const sorted = [...rooms.values()].filter((r) => r.listed).sort((a, b) => a.title.localeCompare(b.title));
    for (const room of sorted) scope.append(new Option(room.title, room.id));
    scope.value = [...scope.options].some((o) => o.value === keep) ? keep : "";
  }

  function open() {
    fillScope();
    const room = activeRoom();
    if (room && !asked) scope.value = room.id;
    if (!dialog.open) dialog.showModal();
    query.focus();
    query.select();
  }

  function ask(frame) {
    asked = frame;
    more.hidden = true;
    status.textContent = gettext("Searching…");
    if (!send(frame)) status.textContent = gettext("Not connected. Try again in a moment.");
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = query.value.trim();
    if (!text) {
      status.textContent = gettext("Type words to search for.");
      return;
    }
    const frame = { type: "search", query: text };
    if (scope.value) frame.room = scope.value;
    if (author.value.trim()) frame.author = author.value.trim();
    list.replaceChildren();
    cursor = null;
    ask(frame);
  });
  more.addEventListener("click", () => {
    if (asked && cursor) ask({ ...asked, cursor });
  });
  $("search-btn").addEventListener("click", open);
  $("search-close").addEventListener("click", () => dialog.close());
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "k") {
      e.preventDefault();
      open();
    }
  });

  function snippet(text, hits) {
    const p = document.createElement("p");
    p.className = "search-snippet";
    let at = 0;
    for (const [start, end] of Array.isArray(hits) ? hits : []) {
      if (!Number.isInteger(start) || !Number.isInteger(end) || start < at || end <= start) continue;
      p.append(document.createTextNode(text.slice(at, start)));
      const mark = document.createElement("mark");
      mark.textContent = text.slice(start, end);
      p.append(mark);
      at = end;
    }
    p.append(document.createTextNode(text.slice(at)));
    return p;
  }

  function resultItem(hit) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "search-hit";
    button.dataset.room = hit.room;
    button.dataset.seq = String(hit.seq);
    const head = document.createElement("span");
    head.className = "search-hit-head";
    const where = document.createElement("strong");
    where.textContent = hit.room_name || hit.room;
    const who = document.createElement("span");
    who.textContent = hit.author;
    const when = document.createElement("time");
    const date = new Date(hit.created_at);
    when.dateTime = date.toISOString();
    when.textContent = date.toLocaleString(document.documentElement.lang || [], { dateStyle: "medium", timeStyle: "short" });
    head.append(where, who, when);
    button.append(head, snippet(String(hit.snippet || ""), hit.hits));
    button.addEventListener("click", () => {
      dialog.close();
      openMessage(hit.room, hit.seq, hit.room_name);
    });
    li.append(button);
    return li;
  }

  return {
    /** A `search_results` frame: the page of the search shown (an older search's answer is ignored). */
    onResults(frame) {
      if (!asked || frame.query !== asked.query) return;
      const results = Array.isArray(frame.results) ? frame.results : [];
      list.append(...results.map(resultItem));
      cursor = typeof frame.cursor === "string" ? frame.cursor : null;
      more.hidden = !cursor;
      const shown = list.children.length;
      status.textContent = shown
        ? (cursor ? gettext("Newest first. There may be more.") : gettext("Newest first."))
        : gettext("No messages found.");
    },
    /** An `error` answering a search: shown in the dialog; true when it was one. */
    onError(frame) {
      if (frame.ref !== "search") return false;
      const why = frame.code === "invalid" ? frame.detail : frame.code === "forbidden"
        ? gettext("You cannot search that room.") : gettext("Search is unavailable right now. Try again.");
      status.textContent = `${gettext("Search")}: ${why}`;
      return true;
    },
  };
}
