"""static/chat/markdown.js in Chromium, on its own (no chat servers): what it builds, and that message
text never becomes markup or a dangerous link, whatever it looks like."""

from __future__ import annotations

import time

import pytest

from .modules import module_page

pytestmark = pytest.mark.browser

SCRIPT = """
import { renderMarkdown, safeUrl } from "/static/chat/markdown.js";
window.md = (text, ctx) => {
  const out = document.getElementById("out");
  out.replaceChildren(renderMarkdown(text, ctx || {me: "ana"}));
  return out.innerHTML;
};
window.text = () => document.getElementById("out").innerText;
window.safeUrl = safeUrl;
"""


@pytest.fixture(scope="module")
def md(browser):
    """A page with the module loaded; md(text) -> the HTML it built."""
    page = module_page(browser, SCRIPT)

    def render(text: str, ctx: dict | None = None) -> str:
        return page.evaluate("([t, c]) => md(t, c)", [text, ctx])

    render.page = page
    yield render
    assert not page.errors
    page.context.close()


def test_inline_formatting(md):
    assert md("**bold** *it* _it2_ ~~gone~~ `x < y`") == (
        '<p class="md-p"><strong class="md-strong">bold</strong> <em class="md-em">it</em> '
        '<em class="md-em">it2</em> <del class="md-del">gone</del> <code class="md-code">x &lt; y</code></p>')
    assert md("***both***") == '<p class="md-p"><em class="md-em"><strong class="md-strong">both</strong></em></p>'


def test_plain_text_and_lines_stay_as_typed(md):
    assert md("Hi Bo!\nSecond line") == '<p class="md-p">Hi Bo!\nSecond line</p>'
    assert md.page.evaluate("text()") == "Hi Bo!\nSecond line"
    assert md("snake_case_name and 2*3*4 and a * b") == (
        '<p class="md-p">snake_case_name and 2<em class="md-em">3</em>4 and a * b</p>')
    assert md(r"\*not em\* and \`tick\`") == '<p class="md-p">*not em* and `tick`</p>'


def test_nested_emphasis(md):
    assert md("*a **b** c*") == (
        '<p class="md-p"><em class="md-em">a <strong class="md-strong">b</strong> c</em></p>')
    assert md("**bold with `code **inside**` and _em_**") == (
        '<p class="md-p"><strong class="md-strong">bold with <code class="md-code">code **inside**</code> and '
        '<em class="md-em">em</em></strong></p>')
    assert md("**a _b ~~c `d` c~~ b_ a**") == (
        '<p class="md-p"><strong class="md-strong">a <em class="md-em">b <del class="md-del">c '
        '<code class="md-code">d</code> c</del> b</em> a</strong></p>')
    for deep in ("*_" * 40 + "x" + "_*" * 40, "".join(f"{d}w " for d in ("*", "**", "_", "__", "~~") * 8) + "x"
                 + "".join(f" w{d}" for d in ("~~", "__", "_", "**", "*") * 8)):
        md(deep)
        depth = md.page.evaluate("""Math.max(0, ...[...document.querySelectorAll('#out *')].map(e => {
            let n = 0; for (let p = e; p.id !== 'out'; p = p.parentElement) n += 1; return n; }))""")
        assert depth <= 9  # p + at most 8 levels of emphasis; deeper delimiters stay text


def test_code_blocks_show_html_as_text(md):
    html = md("```html\n<script>alert(1)</script>\n<img src=x onerror=alert(2)>\n```\nafter")
    assert html == ('<pre class="md-pre"><code>&lt;script&gt;alert(1)&lt;/script&gt;\n'
                    '&lt;img src=x onerror=alert(2)&gt;</code></pre><p class="md-p">after</p>')
    assert md("`<b>x</b>` <i>y</i>") == (
        '<p class="md-p"><code class="md-code">&lt;b&gt;x&lt;/b&gt;</code> &lt;i&gt;y&lt;/i&gt;</p>')


def test_unclosed_code_runs_to_the_end(md):
    assert md("```\ncode **not bold**\n\nstill code") == (
        '<pre class="md-pre"><code>code **not bold**\n\nstill code</code></pre>')
    assert md("a `b and **c**") == '<p class="md-p">a `b and <strong class="md-strong">c</strong></p>'


def test_quotes_and_lists(md):
    assert md("> quoted\n> more\n\nreply") == (
        '<blockquote class="md-quote"><p class="md-p">quoted\nmore</p></blockquote><p class="md-p">reply</p>')
    assert md("Todo:\n- one\n- two\n  - nested\n3. x") == (
        '<p class="md-p">Todo:</p><ul class="md-list"><li><p class="md-p">one</p></li><li><p class="md-p">two</p>'
        '<ul class="md-list"><li><p class="md-p">nested</p></li></ul></li></ul><ol class="md-list" start="3">'
        '<li><p class="md-p">x</p></li></ol>')
    assert md("1. a\n2. b") == '<ol class="md-list"><li><p class="md-p">a</p></li><li><p class="md-p">b</p></li></ol>'
    assert md("It ended in\n2024. What a year") == '<p class="md-p">It ended in\n2024. What a year</p>'


def test_deep_quotes_and_lists_are_bounded(md):
    html = md(">" * 500 + " deep")
    assert html.count("<blockquote") == 6
    html = md("\n".join("  " * i + "- level" for i in range(300)))
    assert html.count("<ul") <= 6


def test_links(md):
    assert md("[docs](https://example.com/a_(b)) and https://x.org/p.") == (
        '<p class="md-p"><a class="md-link" href="https://example.com/a_(b)" target="_blank" '
        'rel="noopener noreferrer">docs</a> and <a href="https://x.org/p" target="_blank" '
        'rel="noopener noreferrer">https://x.org/p</a>.</p>')
    assert md("[mail me](mailto:ana@example.com)") == (
        '<p class="md-p"><a class="md-link" href="mailto:ana@example.com">mail me</a></p>')
    assert md("[**bold** link](https://e.com)") == (
        '<p class="md-p"><a class="md-link" href="https://e.com/" target="_blank" rel="noopener noreferrer">'
        '<strong class="md-strong">bold</strong> link</a></p>')


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
    "java\nscript:alert(1)", "&#106;avascript:alert(1)", "&#x6A;avascript:alert(1)", "javascript&colon;alert(1)",
    "%6A%61vascript:alert(1)", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "DATA:text/html,x",
    "vbscript:msgbox(1)", "VBScript:msgbox(1)", "\u0000javascript:alert(1)", "file:///etc/passwd", "//evil.example",
    "/relative", "ftp://x.org",
])
def test_dangerous_links_are_text(md, url):
    html = md(f"[click]({url}) and <{url}> and {url}")
    page = md.page
    hrefs = page.evaluate("[...document.querySelectorAll('#out a')].map(a => a.getAttribute('href'))")
    assert all(h.startswith(("http://", "https://", "mailto:")) for h in hrefs), (url, html)
    assert "click" in page.evaluate("text()")
    assert page.evaluate("(u) => safeUrl(u)", url) is None


def test_html_is_never_markup(md):
    payloads = [
        "<script>window.__pwned = 1</script>",
        '<img src=x onerror="window.__pwned = 2">',
        "**<img src=x onerror=window.__pwned=3>**",
        "[<img src=x onerror=window.__pwned=4>](https://e.com)",
        "> <svg onload=window.__pwned=5>",
        "- <iframe src=javascript:window.__pwned=6>",
        '[x](https://e.com" onmouseover="window.__pwned=7)',
    ]
    for text in payloads:
        md(text)
        tags = md.page.evaluate(
            "[...document.querySelectorAll('#out *')].map(e => e.tagName.toLowerCase())")
        assert set(tags) <= {"p", "strong", "em", "del", "code", "pre", "a", "blockquote", "ul", "ol", "li", "span"}
        attrs = md.page.evaluate(
            "[...document.querySelectorAll('#out *')].flatMap(e => [...e.attributes].map(a => a.name))")
        assert set(attrs) <= {"class", "href", "target", "rel", "start"}
    assert md.page.evaluate("window.__pwned") is None


def test_mentions_are_marked(md):
    html = md("hi @ana and @bo, @carol. mail x@ana.org", {"me": "ana", "mentions": ["ana", "bo"]})
    assert html == ('<p class="md-p">hi <span class="mention mention-me">@ana</span> and '
                    '<span class="mention">@bo</span>, @carol. mail x@ana.org</p>')
    assert md("김민지 님, @김민지 and @이서준님", {"me": "김민지", "mentions": ["김민지", "이서준님"]}) == (
        '<p class="md-p">김민지 님, <span class="mention mention-me">@김민지</span> and '
        '<span class="mention">@이서준님</span></p>')
    assert md("@room look", {"me": "ana", "mentionsRoom": True}) == (
        '<p class="md-p"><span class="mention mention-me">@room</span> look</p>')
    assert md("`@ana` in code", {"me": "ana"}) == '<p class="md-p"><code class="md-code">@ana</code> in code</p>'


@pytest.mark.parametrize("text", [
    "*" * 20000, "_a" * 10000, "`" * 20000, "` " * 10000, "[" * 20000, "[a](" * 5000, "> " * 10000,
    "- " * 10000, "\n- a" * 5000, "**a " * 5000, "~~" * 10000, "\\" * 20000, "a" * 20000 + "!",
    "https://" + "a." * 10000, "@" * 20000, "[x](" + "(" * 10000, "```\n" * 5000,
])
def test_long_input_renders_quickly(md, text):
    started = time.perf_counter()
    md(text)
    assert time.perf_counter() - started < 1.0, len(text)
