"""What a search matches (pure, no I/O): folding, index terms, query parsing, verification, hit ranges.

One definition serves the three users of it: the append writes `index_terms(body)` to the search
index, a query looks up `SearchQuery.terms`, and every candidate the index returns is verified
against the message's current body with `SearchQuery.hits` (so stale index rows never match).

- Text is folded (NFKC, then casefolded) character by character, keeping the offset of each folded
  character in the original text, so hit ranges point into the body as stored.
- Tokens are runs of letters and digits; `_`, punctuation and symbols separate them and are never
  searched (a query of only `%` or `_` has nothing to look up). Hangul and other CJK characters
  form their own runs: `회의록abc` is the tokens `회의록` and `abc`.
- Latin-script (any non-CJK) tokens match as whole words, case-insensitively: `Plan` finds `plan`,
  not `planet`. Their index term is the word (its first MAX_TERM_CHARS characters).
- CJK tokens match anywhere inside a run, because Korean particles attach to words: `회의` finds
  `회의록` and `회의를`. Their index terms are the run's character bigrams, so any substring of two
  characters or more is found through the index.
- A quoted phrase matches its tokens in order, separated only by non-word characters.
- A word of one character (Latin or CJK) has no index term: it is checked on the candidates found
  through the other words, and a query with no word of two characters or more is refused
  (`too short`): it would have to read every message of every room.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .errors import InvalidMessage

MAX_QUERY_CHARS = 200
MAX_TERM_CHARS = 32  # longer words are indexed by their first 32 characters, verified in full
MAX_CLAUSES = 16

# Hangul (jamo, compatibility jamo, syllables), kana, CJK ideographs: scripts without spaces between
# words, or whose words take attached particles, matched inside runs through bigrams.
_CJK = (
    "\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff"
    "\ua960-\ua97f\uac00-\ud7a3\ud7b0-\ud7ff\uf900-\ufaff"
)
TOKEN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+")
_CJK_RUN = re.compile(rf"[{_CJK}]+")
_WORD_CHAR = rf"[^\W_{_CJK}]"  # a letter or digit of a non-CJK script
_PHRASE = re.compile(r'"([^"]*)"')

# Every character outside ASCII whose folding (or lowercase) is not itself and holds a letter or digit lies in
# these ranges (fullwidth and mathematical letters, ligatures, uppercase of every script, enclosed and
# parenthesised Hangul, ...; tests/store/test_search_text.py checks it against every code point). Outside
# them, a body folds to itself with ASCII lowercased, so a term of its folded text is a plain substring of
# the body up to ASCII case: the search's SQL prefilter (ignite_search) relies on it. The ranges are merged
# across short gaps; Hangul syllables, CJK ideographs, general punctuation and emoji stay outside.
FOLDING_RANGES = (
    (0xAA, 0x2E4), (0x345, 0x345), (0x370, 0x678), (0x958, 0xB5D), (0xE33, 0xF69), (0x10A0, 0x10FC),
    (0x13A0, 0x13FD), (0x1C80, 0x1FFC), (0x2070, 0x2189), (0x2460, 0x24EA), (0x2C00, 0x2D6F),
    (0x2E9F, 0x303A), (0x309F, 0x309F), (0x30FF, 0x33FF), (0xA640, 0xA7F9), (0xAB5C, 0xABBF),
    (0xF900, 0xFFDC), (0x10400, 0x10595), (0x10781, 0x107BA), (0x10C80, 0x10CB2), (0x118A0, 0x118BF),
    (0x16E40, 0x16E5F), (0x1D400, 0x1D7FF), (0x1E900, 0x1E921), (0x1EE00, 0x1EEBB), (0x1F100, 0x1F251),
    (0x1FBF0, 0x1FBF9), (0x2F800, 0x2FA1D),
)


def fold(text: str) -> tuple[str, list[int]]:
    """`text` folded for matching, and for each folded character the index of its original character."""
    if text.isascii():
        return text.lower(), list(range(len(text)))
    folded: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        mapped = unicodedata.normalize("NFKC", char).casefold() if not char.isascii() else char.lower()
        folded.append(mapped)
        offsets.extend([index] * len(mapped))
    return "".join(folded), offsets


def folds_to_other_word_chars(char: str) -> bool:
    """True when a non-ASCII character's folding or lowercase differs from it and holds a letter or digit."""
    folded, lowered = fold(char)[0], char.lower()
    return not char.isascii() and (folded != char or lowered != char) and (
        _WORD.search(folded) is not None or _WORD.search(lowered) is not None)


_WORD = re.compile(r"[^\W_]")


def is_cjk(token: str) -> bool:
    return _CJK_RUN.fullmatch(token) is not None


def token_terms(token: str) -> list[str]:
    """The index terms of one folded token: the word, or the bigrams of a CJK run (none for 1 character)."""
    if len(token) < 2:
        return []
    if is_cjk(token):
        return [token[i:i + 2] for i in range(len(token) - 1)]
    return [token[:MAX_TERM_CHARS]]


def index_terms(body: str) -> set[str]:
    """Every distinct index term of a message body."""
    terms: set[str] = set()
    for token in TOKEN.findall(fold(body)[0]):
        terms.update(token_terms(token))
    return terms


# ---------------------------------------------------------------- queries


@dataclass(frozen=True, slots=True)
class Clause:
    """One required part of a query: a single token, or a quoted phrase of several."""

    tokens: tuple[str, ...]
    pattern: re.Pattern

    @classmethod
    def of(cls, tokens: tuple[str, ...]) -> Clause:
        parts = [re.escape(t) if is_cjk(t) else f"(?<!{_WORD_CHAR}){re.escape(t)}(?!{_WORD_CHAR})" for t in tokens]
        return cls(tokens, re.compile(r"[\W_]*".join(parts)))


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A parsed query: every clause must match the message's current body."""

    text: str
    clauses: tuple[Clause, ...]
    terms: tuple[str, ...]  # index terms, the most selective first

    def hits(self, body: str) -> list[tuple[int, int]] | None:
        """[start, end) ranges of the hits in `body` (merged, sorted), or None when it does not match."""
        folded, offsets = fold(body)
        ranges: list[tuple[int, int]] = []
        for clause in self.clauses:
            found = [(m.start(), m.end()) for m in clause.pattern.finditer(folded) if m.end() > m.start()]
            if not found:
                return None
            ranges += [(offsets[start], offsets[end - 1] + 1) for start, end in found]
        return _merge(ranges)


def parse_query(text: object) -> SearchQuery:
    """A SearchQuery, or InvalidMessage("query", ...) for an empty, too long or too short query."""
    if not isinstance(text, str):
        raise InvalidMessage("query", "must be a string")
    text = text.strip()
    if not text:
        raise InvalidMessage("query", "must not be empty")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidMessage("query", f"must be at most {MAX_QUERY_CHARS} characters")
    if any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n" for c in text):
        raise InvalidMessage("query", "must not contain control characters")
    groups: list[tuple[str, ...]] = []
    for phrase in _PHRASE.findall(text):
        tokens = tuple(TOKEN.findall(fold(phrase)[0]))
        if tokens:
            groups.append(tokens)
    rest = _PHRASE.sub(" ", text)
    groups += [(token,) for token in TOKEN.findall(fold(rest)[0])]
    clauses, seen = [], set()
    for tokens in groups:
        if tokens not in seen:
            seen.add(tokens)
            clauses.append(Clause.of(tokens))
    if len(clauses) > MAX_CLAUSES:
        raise InvalidMessage("query", f"must have at most {MAX_CLAUSES} words and phrases")
    terms = {term for clause in clauses for token in clause.tokens for term in token_terms(token)}
    if not terms:
        raise InvalidMessage("query", "is too short: search for a word of at least 2 letters or digits")
    # Longer Latin words are rarer than short ones and than bigrams: look them up first.
    ordered = sorted(terms, key=lambda term: (is_cjk(term), -len(term), term))
    return SearchQuery(text, tuple(clauses), tuple(ordered))


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def snippet(body: str, hits: list[tuple[int, int]], width: int = 160) -> tuple[str, list[tuple[int, int]]]:
    """At most `width` characters of `body` around its first hit, with the hit ranges inside it."""
    if len(body) <= width:
        return body, hits
    first = hits[0][0] if hits else 0
    start = max(0, min(first - width // 4, len(body) - width))
    end = start + width
    inside = [(max(s, start) - start, min(e, end) - start) for s, e in hits if s < end and e > start]
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(body) else ""
    shift = len(prefix)
    return prefix + body[start:end] + suffix, [(s + shift, e + shift) for s, e in inside]
