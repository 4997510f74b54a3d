"""What a search matches (ignite_store/search_text.py): pure rules, no server."""

import pytest

from ignite_store import InvalidMessage
from ignite_store.search_text import MAX_QUERY_CHARS, fold, index_terms, parse_query, snippet

pytestmark = pytest.mark.unit


def matches(query: str, body: str) -> bool:
    return parse_query(query).hits(body) is not None


def test_latin_words_match_whole_and_case_insensitively():
    assert matches("plan", "The PLAN is set")
    assert matches("PLAN", "the plan")
    assert not matches("plan", "a planet")
    assert matches("straße", "STRASSE")  # casefolded
    assert matches("ＡＢＣ", "abc")  # NFKC: full-width letters
    assert index_terms("Hello, WORLD hello") == {"hello", "world"}


def test_korean_matches_inside_words_through_bigrams():
    assert matches("회의", "회의록을 보세요")
    assert matches("회의", "내일 회의를 합시다")
    assert matches("회의록", "정기회의록")
    assert not matches("회의록", "회의 록")  # a bigram does not cross a space
    assert index_terms("회의록을") == {"회의", "의록", "록을"}
    assert index_terms("회의록abc") == {"회의", "의록", "abc"}  # scripts split a run


def test_quoted_phrases_match_in_order_across_punctuation():
    query = parse_query('"weekly sync"')
    assert query.hits("the Weekly, sync moved") is not None
    assert query.hits("sync weekly") is None
    assert query.hits("weekly syncs") is None  # whole words at the edges
    assert matches('"회의 자료"', "회의 자료를 보내요")
    assert matches('"report" 회의', "회의록과 report")  # clauses are all required, any order


def test_every_clause_is_required():
    assert matches("alpha beta", "beta then alpha")
    assert not matches("alpha beta", "alpha only")


def test_hit_ranges_point_into_the_original_body():
    body = "Straße und STRASSE, 회의를"
    hits = parse_query("strasse 회의").hits(body)
    assert [body[s:e] for s, e in hits] == ["Straße", "STRASSE", "회의"]
    text, ranges = snippet("x " * 200 + "needle " + "y " * 200, parse_query("needle").hits("x " * 200 + "needle "))
    assert len(text) <= 162 and [text[s:e] for s, e in ranges] == ["needle"]


@pytest.mark.parametrize("query", ["", "   ", "a", "가", "%", "_", "%_%", ".*", "x" * (MAX_QUERY_CHARS + 1),
                                   "x" * 500, "bell\x07", None, 42])
def test_bad_queries_are_refused_with_a_clear_reason(query):
    with pytest.raises(InvalidMessage) as info:
        parse_query(query)
    assert info.value.field == "query" and info.value.detail


def test_sql_and_regex_characters_are_literal_separators():
    query = parse_query("100% a_b (x|y) .* [z]")
    assert query.terms == ("100",)
    assert query.hits("100% a b x y z") is not None
    assert query.hits("100 ab xy z") is None  # a, b, x, y, z are words that must be there
    assert fold("ǅ") == ("dž", [0, 0])  # NFKC can widen a character: offsets still point at it


@pytest.mark.unit
def test_every_character_that_folds_to_other_letters_is_in_the_prefilters_ranges():
    """The search's SQL prefilter finds a term in a body up to ASCII case, or passes any body holding a
    character of FOLDING_RANGES: every other character must fold (and lowercase) to itself."""
    from ignite_store.search_text import FOLDING_RANGES, folds_to_other_word_chars

    def inside(cp: int) -> bool:
        return any(low <= cp <= high for low, high in FOLDING_RANGES)

    # planes 4-13 are unassigned, 15-16 private use: Python's tables map them to themselves
    assigned = [*range(0x80, 0xD800), *range(0xE000, 0x40000), *range(0xE0000, 0xE1000)]
    missing = [hex(cp) for cp in assigned if not inside(cp) and folds_to_other_word_chars(chr(cp))]
    assert missing == []
    # what the ranges leave out: Korean, CJK ideographs, punctuation and emoji bodies are filtered by their terms
    assert not any(inside(ord(c)) for c in "회의록漢字’…🙂")
