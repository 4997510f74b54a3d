// The page's language and the words in it. Django's JavaScriptCatalog (/jsi18n/, loaded by
// base.html before any module) defines the globals gettext, ngettext and interpolate for the
// active language; the fallbacks below only keep a page without the catalog in English.
// Write new strings as gettext("...") / ngettext("...", "...", n) so `makemessages -d djangojs`
// finds them (README, "Languages").

const g = globalThis;

/** The active language, as Django set it on <html lang> ("ko", "en"): used for every Intl format. */
export const LANG = document.documentElement.lang || "en";

export function gettext(text) {
  return typeof g.gettext === "function" ? g.gettext(text) : text;
}

export function ngettext(singular, plural, count) {
  return typeof g.ngettext === "function" ? g.ngettext(singular, plural, count) : count === 1 ? singular : plural;
}

/** interpolate("%(name)s was added.", {name}) : named placeholders only, as in Python. */
export function interpolate(format, values) {
  return format.replace(/%\((\w+)\)s/g, (match, key) => (key in values ? String(values[key]) : match));
}

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;
const relative = new Intl.RelativeTimeFormat(LANG, { numeric: "auto", style: "long" });
const numbers = new Intl.NumberFormat(LANG);

/** "just now" / "방금", "3 minutes ago" / "3분 전" for an age under an hour; null for older. */
export function relativeTime(ts, now = Date.now()) {
  const diff = now - ts;
  if (diff < MINUTE) return gettext("just now");
  if (diff < HOUR) return relative.format(-Math.floor(diff / MINUTE), "minute");
  return null;
}

/** A count in the page's language (digit grouping). */
export function formatNumber(n) {
  return numbers.format(n);
}
