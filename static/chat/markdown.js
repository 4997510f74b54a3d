// Message text as a safe subset of Markdown (code, bold, italic, strike, quotes, lists, links),
// built as DOM nodes. The text only ever reaches the page through text nodes and textContent; a
// link's href is re-serialised by the URL parser and must be http, https or mailto.
//
// Every step is a bounded linear scan (no backtracking regexes over user text): delimiter runs
// and backtick runs are indexed once, each opener finds its closer by binary search, and nesting
// deeper than the limits below is shown as plain text.

const MAX_BLOCK_DEPTH = 6; // quotes and lists nested deeper are shown as their text
const MAX_INLINE_DEPTH = 8; // emphasis nested deeper is shown as its text
const LINK_LABEL_MAX = 500;
const LINK_URL_MAX = 2048;
const MAX_URL_PARENS = 2;
const SAFE_SCHEMES = new Set(["http:", "https:", "mailto:"]);
const PUNCT = new Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~");
const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING_PUNCT_RE = /[.,;:!?)\]}'"]+$/;
// Usernames are letters and digits of any script (`@김민지`): \p{L}\p{N}, as Python's \w on the server.
const MENTION_RE = /(^|[^\p{L}\p{N}_@.+-])@([\p{L}\p{N}_][\p{L}\p{N}_.+-]*)/gu;
const ROOM_MENTIONS = new Set(["room", "here", "all", "channel", "everyone"]);

const FENCE_RE = /^ {0,3}(`{3,}|~{3,})/;
const QUOTE_RE = /^ {0,3}>/;
const LIST_RE = /^([ \t]*)([-*+]|\d{1,9}[.)])([ \t]+|$)/;

/**
 * The URL to put in an href, or null. The URL parser drops tabs, newlines and surrounding spaces
 * and lowercases the scheme, so "JaVa\tScript:" is judged as what a browser would run; entities
 * such as "&#106;avascript:" are never decoded (there is no HTML here) and do not parse as a URL.
 */
export function safeUrl(raw) {
  if (typeof raw !== "string" || !raw || raw.length > LINK_URL_MAX) return null;
  let parsed;
  try {
    parsed = new URL(raw);
  } catch {
    return null;
  }
  return SAFE_SCHEMES.has(parsed.protocol) ? parsed.href : null;
}

function el(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

function link(href, className) {
  const a = el("a", className);
  a.href = href;
  if (!href.startsWith("mailto:")) {
    a.target = "_blank";
    a.rel = "noopener noreferrer";
  }
  return a;
}

/**
 * Render `text` into a DocumentFragment. `ctx`: {me, mentions: [usernames], mentionsRoom} marks
 * `@name` tokens the server recognised (and always `@me`).
 */
export function renderMarkdown(text, ctx = {}) {
  const frag = document.createDocumentFragment();
  const mentions = new Set(Array.isArray(ctx.mentions) ? ctx.mentions : []);
  renderBlocks(String(text).split("\n"), frag, { me: ctx.me, mentions, mentionsRoom: Boolean(ctx.mentionsRoom) }, 0);
  return frag;
}

// ------------------------------------------------------------------ blocks
function isBlank(line) {
  return line.trim() === "";
}

/** Columns of leading whitespace (a tab counts 4). */
function indentOf(line) {
  let cols = 0;
  for (const ch of line) {
    if (ch === " ") cols += 1;
    else if (ch === "\t") cols += 4;
    else break;
  }
  return cols;
}

/** Drop up to `cols` columns of leading whitespace. */
function dedent(line, cols) {
  let i = 0;
  let taken = 0;
  while (i < line.length && taken < cols && (line[i] === " " || line[i] === "\t")) {
    taken += line[i] === "\t" ? 4 : 1;
    i += 1;
  }
  return line.slice(i);
}

function listItem(line) {
  const m = LIST_RE.exec(line);
  if (!m) return null;
  const indent = indentOf(m[1]);
  if (indent > 12) return null;
  const ordered = /\d/.test(m[2][0]);
  const gap = m[3].length === 0 ? 1 : Math.min(indentOf(m[3]), 4);
  return {
    ordered,
    start: ordered ? Number.parseInt(m[2], 10) : 1,
    indent,
    contentCol: indent + m[2].length + Math.max(1, gap),
    content: line.slice(m[0].length),
  };
}

function startsBlock(line, depth, inParagraph) {
  if (FENCE_RE.test(line)) return true;
  if (depth >= MAX_BLOCK_DEPTH) return false;
  if (QUOTE_RE.test(line)) return true;
  const item = listItem(line);
  // Like CommonMark: only "1." may interrupt a paragraph, so "2024. was a year" stays text.
  return Boolean(item && item.content.trim() && (!inParagraph || !item.ordered || item.start === 1));
}

function renderBlocks(lines, parent, ctx, depth) {
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) {
      i += 1;
      continue;
    }
    const fence = FENCE_RE.exec(line);
    if (fence) {
      i = renderFence(lines, i, fence[1], parent);
      continue;
    }
    if (depth < MAX_BLOCK_DEPTH && QUOTE_RE.test(line)) {
      const inner = [];
      while (i < lines.length && QUOTE_RE.test(lines[i])) {
        inner.push(lines[i].replace(/^ {0,3}> ?/, ""));
        i += 1;
      }
      const quote = el("blockquote", "md-quote");
      renderBlocks(inner, quote, ctx, depth + 1);
      parent.append(quote);
      continue;
    }
    if (depth < MAX_BLOCK_DEPTH && listItem(line)?.content.trim()) {
      i = renderList(lines, i, parent, ctx, depth);
      continue;
    }
    const para = [line];
    i += 1;
    while (i < lines.length && !isBlank(lines[i]) && !startsBlock(lines[i], depth, true)) {
      para.push(lines[i]);
      i += 1;
    }
    const p = el("p", "md-p");
    renderInline(para.join("\n"), p, ctx);
    parent.append(p);
  }
}

/** A fenced code block; an unclosed fence runs to the end of the message (as in CommonMark). */
function renderFence(lines, start, marker, parent) {
  const body = [];
  let i = start + 1;
  while (i < lines.length) {
    const trimmed = lines[i].trim();
    if (trimmed.length >= marker.length && trimmed[0] === marker[0] && [...trimmed].every((c) => c === marker[0])) {
      i += 1;
      break;
    }
    body.push(lines[i]);
    i += 1;
  }
  const pre = el("pre", "md-pre");
  const code = el("code");
  code.textContent = body.join("\n");
  pre.append(code);
  parent.append(pre);
  return i;
}

function renderList(lines, start, parent, ctx, depth) {
  const first = listItem(lines[start]);
  const list = el(first.ordered ? "ol" : "ul", "md-list");
  if (first.ordered && first.start !== 1) list.start = first.start;
  let i = start;
  while (i < lines.length) {
    const item = listItem(lines[i]);
    if (!item || item.ordered !== first.ordered || item.indent >= first.contentCol) break;
    const content = [item.content];
    i += 1;
    while (i < lines.length) {
      const line = lines[i];
      if (isBlank(line)) {
        // A blank line ends the item unless the next text is indented under it.
        let j = i + 1;
        while (j < lines.length && isBlank(lines[j])) j += 1;
        if (j < lines.length && indentOf(lines[j]) >= item.contentCol) {
          for (; i < j; i += 1) content.push("");
          continue;
        }
        break;
      }
      if (indentOf(line) >= item.contentCol) {
        content.push(dedent(line, item.contentCol));
        i += 1;
        continue;
      }
      if (listItem(line) || startsBlock(line, depth, false)) break;
      content.push(line.trimStart()); // a lazy continuation line of the item's text
      i += 1;
    }
    const li = el("li");
    renderBlocks(content, li, ctx, depth + 1);
    list.append(li);
    if (i < lines.length && isBlank(lines[i])) {
      // Blank lines between items keep one list.
      let j = i;
      while (j < lines.length && isBlank(lines[j])) j += 1;
      const nextItem = j < lines.length ? listItem(lines[j]) : null;
      if (!nextItem || nextItem.ordered !== first.ordered || nextItem.indent >= first.contentCol) break;
      i = j;
    }
  }
  parent.append(list);
  return i;
}

// ------------------------------------------------------------------ inline
/** The first index in sorted `arr` whose value is >= x. */
function lowerBound(arr, x) {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const isSpace = (ch) => ch === undefined || /\s/.test(ch);
const isWordChar = (ch) => ch !== undefined && /[\p{L}\p{N}_]/u.test(ch);

/** Index the text once: escapes, code spans, and the closers of each kind of delimiter run. */
function scanInline(text) {
  const escaped = new Uint8Array(text.length); // 1: a backslash that escapes the next character
  const ticks = new Map(); // run length -> ascending start positions
  const tickRuns = [];
  for (let i = 0; i < text.length; ) {
    const ch = text[i];
    if (ch === "\\" && PUNCT.has(text[i + 1])) {
      escaped[i] = 1;
      i += 2;
    } else if (ch === "`") {
      let j = i;
      while (text[j] === "`") j += 1;
      const len = j - i;
      if (!ticks.has(len)) ticks.set(len, []);
      ticks.get(len).push(i);
      tickRuns.push([i, len]);
      i = j;
    } else {
      i += 1;
    }
  }
  const codeAt = new Map(); // start -> end (exclusive) of a code span
  const inCode = new Uint8Array(text.length);
  let consumed = 0;
  for (const [pos, len] of tickRuns) {
    if (pos < consumed) continue;
    const same = ticks.get(len);
    const k = lowerBound(same, consumed > pos ? consumed : pos + len);
    if (k >= same.length) continue; // unclosed: the backticks stay text
    const end = same[k] + len;
    codeAt.set(pos, end);
    inCode.fill(1, pos, end);
    consumed = end;
  }
  const closers = new Map(); // "*1", "_2", "~2", ... -> ascending start positions of closing runs
  const runs = new Map(); // start -> {ch, len, canOpen}
  for (let i = 0; i < text.length; ) {
    const ch = text[i];
    if ((ch !== "*" && ch !== "_" && ch !== "~") || inCode[i] || (i > 0 && escaped[i - 1])) {
      i += 1;
      continue;
    }
    let j = i;
    while (text[j] === ch && !inCode[j]) j += 1;
    const len = j - i;
    const before = text[i - 1];
    const after = text[j];
    let canOpen = !isSpace(after);
    let canClose = !isSpace(before);
    if (ch === "_") {
      // snake_case_names are not emphasis.
      canOpen = canOpen && !isWordChar(before);
      canClose = canClose && !isWordChar(after);
    }
    runs.set(i, { ch, len, canOpen });
    if (canClose) {
      const key = ch + len;
      if (!closers.has(key)) closers.set(key, []);
      closers.get(key).push(i);
    }
    i = j;
  }
  return { escaped, codeAt, closers, runs };
}

function renderInline(text, parent, ctx) {
  const scan = scanInline(text);
  parseRange(text, scan, 0, text.length, parent, ctx, 0, false);
}

const TAGS = { "*1": ["em"], "_1": ["em"], "*2": ["strong"], "_2": ["strong"], "~2": ["del"], "*3": ["em", "strong"],
  "_3": ["em", "strong"] };

function parseRange(text, scan, start, end, parent, ctx, depth, inLink) {
  let textStart = start;
  const flush = (upTo) => {
    if (upTo > textStart) appendText(parent, text.slice(textStart, upTo), ctx, inLink);
  };
  let i = start;
  while (i < end) {
    const codeEnd = scan.codeAt.get(i);
    if (codeEnd !== undefined && codeEnd <= end) {
      flush(i);
      let len = 0;
      while (text[i + len] === "`") len += 1;
      let content = text.slice(i + len, codeEnd - len).replace(/\n/g, " ");
      if (content.length > 2 && content[0] === " " && content.at(-1) === " " && content.trim()) {
        content = content.slice(1, -1);
      }
      const code = el("code", "md-code");
      code.textContent = content;
      parent.append(code);
      i = textStart = codeEnd;
      continue;
    }
    if (scan.escaped[i]) {
      flush(i);
      textStart = i + 1; // the escaped character is kept as text
      i += 2;
      continue;
    }
    const ch = text[i];
    if (ch === "[" && !inLink && depth < MAX_INLINE_DEPTH) {
      const found = findLink(text, scan, i, end);
      if (found) {
        flush(i);
        const a = link(found.href, "md-link");
        parseRange(text, scan, i + 1, found.labelEnd, a, ctx, depth + 1, true);
        parent.append(a);
        i = textStart = found.end;
        continue;
      }
    }
    const run = scan.runs.get(i);
    if (run) {
      const key = run.ch + run.len;
      const tags = TAGS[key];
      if (tags && run.canOpen && depth < MAX_INLINE_DEPTH) {
        const list = scan.closers.get(key) || [];
        const k = lowerBound(list, i + run.len + 1);
        const close = k < list.length ? list[k] : -1;
        if (close >= 0 && close + run.len <= end) {
          flush(i);
          const outer = el(tags[0], `md-${tags[0]}`);
          let inner = outer;
          for (const tag of tags.slice(1)) {
            const child = el(tag, `md-${tag}`);
            inner.append(child);
            inner = child;
          }
          parseRange(text, scan, i + run.len, close, inner, ctx, depth + 1, inLink);
          parent.append(outer);
          i = textStart = close + run.len;
          continue;
        }
      }
      i += run.len; // no partner: the run is text
      continue;
    }
    i += 1;
  }
  flush(end);
}

/** `[label](url)` starting at `open`: {labelEnd, end, href} when well formed and the URL is safe. */
function findLink(text, scan, open, end) {
  let depth = 0;
  let j = open + 1;
  const labelLimit = Math.min(end, open + 1 + LINK_LABEL_MAX);
  for (; j < labelLimit; j += 1) {
    const codeEnd = scan.codeAt.get(j);
    if (codeEnd !== undefined) {
      j = codeEnd - 1;
      continue;
    }
    if (scan.escaped[j]) {
      j += 1;
      continue;
    }
    if (text[j] === "[") depth += 1;
    else if (text[j] === "]") {
      if (depth === 0) break;
      depth -= 1;
    }
  }
  if (j >= labelLimit || text[j] !== "]" || text[j + 1] !== "(" || j === open + 1) return null;
  const labelEnd = j;
  let k = j + 2;
  while (k < end && text[k] === " ") k += 1;
  const urlStart = k;
  let parens = 0;
  const urlLimit = Math.min(end, urlStart + LINK_URL_MAX);
  for (; k < urlLimit; k += 1) {
    const code = text.charCodeAt(k);
    if (code <= 32 || code === 0xa0) break; // whitespace ends a URL
    if (code === 40) {
      parens += 1; // "(": URLs nest parentheses a little (Wikipedia); deeper is not a link
      if (parens > MAX_URL_PARENS) return null;
    } else if (code === 41) {
      if (parens === 0) break;
      parens -= 1;
    }
  }
  const url = text.slice(urlStart, k);
  while (k < end && text[k] === " ") k += 1;
  if (text[k] !== ")") return null;
  const href = safeUrl(url);
  return href ? { labelEnd, end: k + 1, href } : null;
}

/** Plain text: http(s) URLs become links (as before Markdown), `@name` tokens are marked. */
function appendText(parent, text, ctx, inLink) {
  if (inLink) {
    parent.append(document.createTextNode(text));
    return;
  }
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    let url = match[0];
    const trailing = url.match(TRAILING_PUNCT_RE);
    if (trailing) url = url.slice(0, -trailing[0].length);
    const href = safeUrl(url);
    if (!href) continue;
    if (match.index > last) appendMentions(parent, text.slice(last, match.index), ctx);
    const a = link(href);
    a.textContent = url;
    parent.append(a);
    last = match.index + url.length;
  }
  if (last < text.length) appendMentions(parent, text.slice(last), ctx);
}

function mentionKind(name, ctx) {
  if (ROOM_MENTIONS.has(name.toLowerCase())) return ctx.mentionsRoom ? "room" : null;
  if (name === ctx.me) return "me";
  return ctx.mentions.has(name) ? "other" : null;
}

function appendMentions(parent, text, ctx) {
  let last = 0;
  for (const match of text.matchAll(MENTION_RE)) {
    let name = match[2];
    let kind = mentionKind(name, ctx);
    while (!kind && /[.+-]$/.test(name)) {
      name = name.slice(0, -1); // "@ana." at the end of a sentence
      kind = mentionKind(name, ctx);
    }
    if (!kind) continue;
    const at = match.index + match[1].length;
    if (at > last) parent.append(document.createTextNode(text.slice(last, at)));
    const span = el("span", kind === "other" ? "mention" : "mention mention-me");
    span.textContent = `@${name}`;
    parent.append(span);
    last = at + 1 + name.length;
  }
  if (last < text.length) parent.append(document.createTextNode(text.slice(last)));
}
