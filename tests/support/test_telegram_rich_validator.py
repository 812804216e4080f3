"""The offline rich-message checker must reject what Telegram rejects.

Every rule of /work/shared/telegram/rich-messages.md gets a bad sample here, so a checker
that accepted everything would fail, not the bot in production.
"""

from __future__ import annotations

import pytest

from tests.support.telegram_rich import parse_rich_html, rich_html_problems

GOOD = [
    "plain text at the top",
    "<p>a <b>b</b> <strong>s</strong> <i>i</i> <em>e</em> <u>u</u> <ins>n</ins> <s>s</s></p>",
    "<p><strike>k</strike> <del>d</del> <mark>m</mark> x<sub>2</sub> e<sup>x</sup></p>",
    "<p><tg-spoiler>hidden</tg-spoiler> <code>x &lt; y</code> line<br>break<br/>again</p>",
    '<p><a href="https://example.com/?a=1&amp;b=2">l</a> <a href="mailto:a@b.c">m</a></p>',
    '<p><a href="tel:+100">t</a> <a href="tg://user?id=1">u</a> <a href="#top">a</a></p>',
    '<p><a name="top">anchor</a> <tg-reference name="n1">1</tg-reference></p>',
    '<p><tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> <tg-time unix="1" '
    'format="d">t</tg-time></p>',
    "<h1>H1</h1><h2>H2</h2><h3>H3</h3><h4>H4</h4><h5>H5</h5><h6>H6</h6>",
    '<pre>plain</pre><pre><code class="language-python">print("hi") &amp; x</code></pre>',
    "<footer>foot</footer><hr><hr/>",
    '<ul><li>one</li><li><p>two</p><ul><li>nested</li></ul></li></ul><ol start="3" '
    'type="a" reversed><li value="4" type="i">x</li></ol>',
    '<ul><li><input type="checkbox" checked> done</li><li><input type="checkbox"> todo</li></ul>',
    "<blockquote><p>q</p><cite>who</cite></blockquote><blockquote expandable>long</blockquote>",
    "<aside>pull quote</aside>",
    '<table bordered striped compact><caption>c</caption><tr><th align="center">h</th>'
    '<th valign="middle" colspan="2">k</th></tr><tr><td>1</td><td><b>2</b></td><td>'
    "<tg-math>x^2</tg-math></td></tr></table>",
    "<details><summary>Model answer: tap to open</summary><p>body</p><pre>x</pre></details>",
    "<details open><summary>s</summary>text</details>",
    "<p>inline <tg-math>\\frac{a}{b} &lt; c &amp; d</tg-math></p>"
    "<tg-math-block>\\sum_i x_i</tg-math-block>",
    '<figure><img src="https://x.y/a.png"><figcaption>cap</figcaption></figure>',
    "<p>&lt; &gt; &amp; &quot; &apos; &nbsp; &hellip; &mdash; &ndash; &lsquo; &rsquo; "
    "&ldquo; &rdquo; &#60; &#x3C; &#128512;</p>",
    "<P>upper-case tag</P>",
]

BAD = [
    ("<div>x</div>", "unsupported tag <div>"),
    ("<span>x</span>", "unsupported tag <span>"),
    ("<thead><tr><td>x</td></tr></thead>", "unsupported tag <thead>"),
    ('<p class="x">x</p>', "unsupported attribute 'class'"),
    ('<b style="x">x</b>', "unsupported attribute"),
    ('<a href="javascript:alert(1)">x</a>', "unsupported link"),
    ('<a href="ftp://x.y">x</a>', "unsupported link"),
    ("<a>x</a>", "exactly one of href and name"),
    ('<img src="file:///etc/passwd">', "needs an http(s) src"),
    ('<p><code class="language-python">x</code></p>', "only on <code> directly inside <pre>"),
    ('<pre><code class="python">x</code></pre>', "bad code class"),
    ("<pre><b>x</b></pre>", "holds text only"),
    ("<p><code><b>x</b></code></p>", "holds text only"),
    ("<tg-math>a<b>b</b></tg-math>", "holds text only"),
    ("<p>a</b>", "does not match"),
    ("<p>a", "unclosed start tag <p>"),
    ("a</p>", "unmatched end tag"),
    ("<b><i>x</b></i>", "does not match"),
    ("<br></br>", "end tag </br> of a void tag"),
    ("<p/>", "not a void tag"),
    ("a < b", "unescaped '<'"),
    ("a > b", "unescaped '>'"),
    ("a & b", "unescaped entity"),
    ("&copy;", "unsupported or unescaped entity"),
    ("&#0;", "unsupported or unescaped entity"),
    ("&#xD800;", "unsupported or unescaped entity"),
    ("<p><p>x</p></p>", "block <p> inside <p>"),
    ("<b><p>x</p></b>", "block <p> inside <b>"),
    ("<h2><ul><li>x</li></ul></h2>", "block <ul> inside <h2>"),
    ("<table><tr><td><p>x</p></td></tr></table>", "block <p> inside <td>"),
    ("<table><tr><td><ul><li>x</li></ul></td></tr></table>", "block <ul> inside <td>"),
    ("<table><tr><td><pre>x</pre></td></tr></table>", "block <pre> inside <td>"),
    ("<table><tr><td><tg-math-block>x</tg-math-block></td></tr></table>", "inside <td>"),
    ("<table><td>x</td></table>", "<td> directly inside <table>"),
    ("<table>text<tr><td>x</td></tr></table>", "text directly inside <table>"),
    ("<ul><p>x</p></ul>", "<p> directly inside <ul>"),
    ("<ul>loose<li>x</li></ul>", "text directly inside <ul>"),
    ("<li>x</li>", "<li> outside"),
    ("<tr><td>x</td></tr>", "<tr> outside"),
    ("<summary>x</summary>", "<summary> outside"),
    ("<details><p>x</p><summary>s</summary></details>", "<summary> must come first"),
    ("<details><p>x</p></details>", "<details> without <summary>"),
    ("<cite>x</cite>", "<cite> outside"),
    ('<ul><li>x <input type="checkbox"></li></ul>', "<input> must start its <li>"),
    ('<ul><li><input type="text"> x</li></ul>', 'must be type="checkbox"'),
    ('<table><tr><td align="justify">x</td></tr></table>', "bad align"),
    ('<table><tr><td valign="baseline">x</td></tr></table>', "bad valign"),
    ('<ol type="x"><li>a</li></ol>', "bad list type"),
    ('<details open="yes"><summary>s</summary>x</details>', "takes no value"),
    ('<tg-emoji emoji-id="abc">x</tg-emoji>', "numeric emoji-id"),
    ("", "rich message is empty"),
    ("<p>  </p>", "rich message is empty"),
]


@pytest.mark.parametrize("source", GOOD)
def test_valid_rich_html_is_accepted(source: str) -> None:
    assert rich_html_problems(source) == []


@pytest.mark.parametrize(("source", "problem"), BAD)
def test_invalid_rich_html_is_rejected(source: str, problem: str) -> None:
    problems = rich_html_problems(source)
    assert any(problem in p for p in problems), problems


def _row(cells: int, *, span: int = 1) -> str:
    return "<tr>" + f'<td colspan="{span}">x</td>' * cells + "</tr>"


def test_at_most_20_columns_colspan_included() -> None:
    assert rich_html_problems(f"<table>{_row(20)}</table>") == []
    assert any("21 columns" in p for p in rich_html_problems(f"<table>{_row(21)}</table>"))
    assert any("22 columns" in p for p in rich_html_problems(f"<table>{_row(11, span=2)}</table>"))


def test_text_limit_counts_formula_source() -> None:
    assert rich_html_problems("<p>" + "a" * 32_768 + "</p>") == []
    assert any("too long" in p for p in rich_html_problems("<p>" + "a" * 32_769 + "</p>"))
    formula = "<p>" + "a" * 32_760 + "<tg-math>" + "x" * 9 + "</tg-math></p>"
    assert any("too long" in p for p in rich_html_problems(formula))
    # Entities count as the one character they stand for.
    assert rich_html_problems("<p>" + "&amp;" * 32_768 + "</p>") == []


def test_block_limit_counts_items_rows_and_nested_blocks() -> None:
    assert rich_html_problems("<p>x</p>" * 500) == []
    assert any("too many blocks: 501" in p for p in rich_html_problems("<p>x</p>" * 501))
    # One list (1) of 499 items = 500; one more item = 501.
    assert rich_html_problems("<ul>" + "<li>x</li>" * 499 + "</ul>") == []
    assert any("501" in p for p in rich_html_problems("<ul>" + "<li>x</li>" * 500 + "</ul>"))
    # A table (1) and its rows count; a details (1) and the blocks inside it too.
    assert parse_rich_html("<table>" + _row(3) * 4 + "</table>").block_count == 5
    assert (
        parse_rich_html("<details><summary>s</summary><p>a</p><p>b</p></details>").block_count == 3
    )


def test_nesting_limit_is_16_levels() -> None:
    def nested(levels: int) -> str:
        return "<blockquote>" * (levels - 1) + "<p>x</p>" + "</blockquote>" * (levels - 1)

    assert rich_html_problems(nested(16)) == []
    assert any("17 levels" in p for p in rich_html_problems(nested(17)))
    inline = "<p>" + "<b><i>" * 8 + "x" + "</i></b>" * 8 + "</p>"  # p + 16 inline = 17
    assert any("nesting too deep" in p for p in rich_html_problems(inline))


def test_blocks_echo_what_was_sent() -> None:
    parsed = parse_rich_html(
        "<h2>Title</h2><p>a <b>b</b> <tg-math>x&lt;y</tg-math></p>"
        '<pre><code class="language-python">f()</code></pre>'
        "<details><summary>S</summary><ul><li>i</li></ul></details>"
        "<tg-math-block>\\sum</tg-math-block>"
        '<table><tr><th>h</th></tr><tr><td align="right">c</td></tr></table>'
    )
    assert parsed.problems == ()
    assert list(parsed.blocks) == [
        {"type": "heading", "text": "Title", "size": 2},
        {
            "type": "paragraph",
            "text": [
                "a ",
                {"type": "bold", "text": "b"},
                " ",
                {"type": "mathematical_expression", "expression": "x<y"},
            ],
        },
        {"type": "pre", "text": "f()", "language": "python"},
        {
            "type": "details",
            "summary": "S",
            "blocks": [
                {
                    "type": "list",
                    "items": [{"label": "•", "blocks": [{"type": "paragraph", "text": "i"}]}],
                }
            ],
        },
        {"type": "mathematical_expression", "expression": "\\sum"},
        {
            "type": "table",
            "cells": [
                [{"text": "h", "is_header": True, "align": "left", "valign": "top"}],
                [{"text": "c", "is_header": False, "align": "right", "valign": "top"}],
            ],
        },
    ]
    assert parsed.text == "Titlea b x<yf()Si\\sumhc"
