"""Every word of the page is marked for translation, and the ko catalogs translate all of it.

Three checks without a process (unit): the committed .po files have no untranslated or fuzzy entry and
keep every placeholder; no template text and no JS string literal that reads like prose is left
unmarked. One check with GNU gettext: makemessages, run on a copy of the sources, finds no message
that the committed catalogs lack (README "Languages": `make po` updates them).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
LOCALE = BASE_DIR / "locale"
DOMAINS = ("django", "djangojs")
TEMPLATE_DIRS = [BASE_DIR / "templates", *BASE_DIR.glob("*/templates")]  # the project's and each app's
APPS = [path.parent.name for path in BASE_DIR.glob("*/apps.py")] + ["chatsite"]
JS_DIR = BASE_DIR / "static" / "chat"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|<[^>]+>")


def catalog(language: str, domain: str) -> polib.POFile:
    return polib.pofile(str(LOCALE / language / "LC_MESSAGES" / f"{domain}.po"))


def problems(po: polib.POFile) -> list[str]:
    """Untranslated and fuzzy entries, and translations that lost or invented a placeholder or tag."""
    found = []
    for entry in po:
        if entry.obsolete:
            continue
        texts = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        if "fuzzy" in entry.flags:
            found.append(f"fuzzy: {entry.msgid!r}")
        elif not all(texts):
            found.append(f"untranslated: {entry.msgid!r}")
        for text in filter(None, texts):
            if set(PLACEHOLDER.findall(text)) != set(PLACEHOLDER.findall(entry.msgid)):
                found.append(f"placeholders or tags differ: {entry.msgid!r} -> {text!r}")
    return found


@pytest.mark.unit
@pytest.mark.parametrize("domain", DOMAINS)
def test_the_korean_catalog_translates_every_entry(domain):
    po = catalog("ko", domain)
    assert len(po) > 20
    assert problems(po) == []


# ---------------------------------------------------------------- unmarked template text

TEMPLATE_CODE = re.compile(r"{%\s*blocktranslate.*?{%\s*endblocktranslate\s*%}|{%.*?%}|{{.*?}}|{#.*?#}", re.S)
HIDDEN_ELEMENTS = re.compile(r"<(script|style|svg|pre|code)\b.*?</\1>", re.S)  # code is not prose
TEXT_ATTRIBUTE = re.compile(r'\b(?:title|placeholder|aria-label|alt|label)="([^"]*)"')
BUTTON_VALUE = re.compile(r'^<input\b[^>]*\btype="(?:submit|button)"[^>]*\bvalue="([^"]*)"')
WORD = re.compile(r"[A-Za-z]{2,}")
IDENTIFIER = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)+")  # a class name in {% block body_class %}


def unmarked_template_text(source: str) -> list[str]:
    """Words outside {% translate %}/{% blocktranslate %}: in text between tags or in a text attribute."""
    source = re.sub(r"&\w+;", " ", source)
    stripped = HIDDEN_ELEMENTS.sub("", TEMPLATE_CODE.sub("", source))
    found = [text.strip() for text in re.split(r"<[^>]*>", stripped)
             if WORD.search(text) and not IDENTIFIER.fullmatch(text.strip())]
    for tag in re.findall(r"<[^>]+>", HIDDEN_ELEMENTS.sub("", TEMPLATE_CODE.sub("X", source))):
        values = TEXT_ATTRIBUTE.findall(tag) + BUTTON_VALUE.findall(tag)
        found += [value for value in values if WORD.search(value) and value != "X"]
    return found


def test_the_template_scanner_finds_unmarked_words():
    assert unmarked_template_text('<p>Hello</p><b title="Greeting">{% translate "Hi" %}</b>') == ["Hello", "Greeting"]
    assert unmarked_template_text('{% blocktranslate %}<b>Hi</b> there{% endblocktranslate %}<i>{{ user }}</i>') == []
    assert unmarked_template_text('<input type="submit" value="Search"><input name="a" value="ok">') == ["Search"]


@pytest.mark.unit
def test_every_template_word_is_marked_for_translation():
    found = {}
    for directory in TEMPLATE_DIRS:
        for path in directory.rglob("*.html"):
            words = unmarked_template_text(path.read_text())
            if words:
                found[str(path.relative_to(BASE_DIR))] = words
    assert found == {}


# ---------------------------------------------------------------- unmarked JS strings

JS_LITERAL = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|`(?:[^`\\]|\\.)*`', re.S)
JS_MARKED = re.compile(r"\b(?:n?gettext|pgettext|gettext_noop)\(\s*$")
JS_COMMENT = re.compile(r"^\s*(?://|\*|/\*)")
# Literals that are not words for people: key names, event names and the like.
JS_NOT_PROSE = {"Enter", "Escape", "Shift", "Tab", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Backspace",
                "Home", "End", "PageUp", "PageDown", "Delete", "Meta", "Control", "Alt"}
PROSE = re.compile(r"^[A-Z][a-z]+(?:[ ,.:;!?…]|$)|[a-z]{2,} [a-z]{2,}.*[.…?!:]$")


def unmarked_js_strings(source: str) -> list[str]:
    """String literals that read like prose and are not the first argument of a gettext function."""
    found = []
    for line in source.splitlines():
        if JS_COMMENT.match(line):
            continue
        line = line.split(" // ", 1)[0]
        for match in JS_LITERAL.finditer(line):
            text = re.sub(r"\$\{[^}]*\}", "", match.group()[1:-1]).strip()
            before = line[: match.start()]
            plural_argument = re.search(r"\bn?gettext\(\s*\"(?:[^\"\\]|\\.)*\",\s*$", before)
            if not text or text in JS_NOT_PROSE or JS_MARKED.search(before) or plural_argument:
                continue
            if PROSE.search(text):
                found.append(text)
    return found


def test_the_js_scanner_finds_unmarked_prose():
    source = 'x.textContent = "Not sent."; y = gettext("Retry"); z = ngettext("%(n)s day", "%(n)s days", n);\n' \
             'if (e.key === "Enter") a.className = "btn btn-sm"; t = `Hello ${name}`;'
    assert unmarked_js_strings(source) == ["Not sent.", "Hello"]


@pytest.mark.unit
def test_every_js_string_for_people_is_marked_for_translation():
    found = {}
    for path in sorted(JS_DIR.rglob("*.js")):
        strings = unmarked_js_strings(path.read_text())
        if strings:
            found[path.name] = strings
    assert found == {}


# ---------------------------------------------------------------- makemessages finds nothing new

def test_makemessages_finds_no_message_the_catalogs_lack(tmp_path):
    """Extract afresh on a copy of the sources and merge into a copy of the catalogs: nothing new, nothing fuzzy."""
    assert shutil.which("xgettext") and shutil.which("msgmerge"), "GNU gettext is missing: run `make setup`"
    for name in (*APPS, "templates", "static", "locale"):
        shutil.copytree(BASE_DIR / name, tmp_path / name, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "lib", "*.mo"))
    shutil.copy(BASE_DIR / "manage.py", tmp_path)
    for domain in DOMAINS:
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", "-l", "ko", "-d", domain, "--no-obsolete", "-v", "0"],
            cwd=tmp_path, check=True, env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "chatsite.test_settings",
                                           "PYTHONPATH": str(tmp_path)},
        )
    for domain in DOMAINS:
        fresh = polib.pofile(str(tmp_path / "locale" / "ko" / "LC_MESSAGES" / f"{domain}.po"))
        committed = {entry.msgid for entry in catalog("ko", domain)}
        extracted = {entry.msgid for entry in fresh if not entry.obsolete}
        assert sorted(extracted - committed) == [], f"new messages in {domain}: run `make po` and translate them"
        assert sorted(committed - extracted) == [], f"messages no longer used in {domain}: run `make po`"
        assert problems(fresh) == []
