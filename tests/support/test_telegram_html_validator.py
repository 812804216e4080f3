"""The offline Telegram-HTML checker must reject what Telegram rejects.

Every rule gets at least one bad sample, so a checker that silently accepts
everything fails here rather than letting broken messages reach production.
"""

from __future__ import annotations

import pytest

from tests.support.telegram_html import telegram_html_problems, visible_text

GOOD = [
    "plain text",
    "<b>bold</b> <strong>s</strong> <i>i</i> <em>e</em> <u>u</u> <ins>n</ins>",
    "<s>s</s> <strike>k</strike> <del>d</del>",
    '<tg-spoiler>hidden</tg-spoiler> <span class="tg-spoiler">also</span>',
    '<a href="https://example.com/?a=1&amp;b=&quot;2&quot;">link</a>',
    "<a href='tg://user?id=1'><b>bold link</b></a>",
    "<code>x &lt; y &amp;&amp; y &gt; z</code>",
    "<pre>code block</pre>",
    '<pre><code class="language-python">print("hi")\n</code></pre>',
    '<blockquote>quote <b>with</b> <a href="https://x.y">link</a></blockquote>',
    "<blockquote expandable>long quote</blockquote>",
    '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
    "<b>bold <i>italic <s>strike <tg-spoiler>spoiler</tg-spoiler></s></i></b>",
    "<tg-spoiler><pre>hidden code</pre></tg-spoiler>",
    "numeric &#60; &#x3C; &#128512; entities",
    "quote \" and ' are fine in text",
    "<B>upper-case tag</B>",
]

BAD = [
    ("<div>x</div>", "Unsupported start tag"),
    ("<br/>x", "Unsupported start tag"),
    ("<p>x</p>", "Unsupported start tag"),
    ("<span>x</span>", "Unsupported start tag"),
    ('<span class="x">x</span>', "Unsupported start tag"),
    ('<b class="x">x</b>', "Unsupported attribute"),
    ('<a href="https://x.y" title="t">x</a>', "Unsupported attribute"),
    ("<a>x</a>", "without href"),
    ('<code class="language-python">x</code>', "language class"),
    ('<pre><code class="python">x</code></pre>', "Bad code class"),
    ('<blockquote expandable="yes">x</blockquote>', "takes no value"),
    ('<tg-emoji emoji-id="abc">👍</tg-emoji>', "emoji-id"),
    ("<b>x", "Unclosed start tag"),
    ("x</b>", "Unmatched end tag"),
    ("<b><i>x</b></i>", "does not match"),
    ("<code><b>x</b></code>", "inside <code>"),
    ("<pre><b>x</b></pre>", "only <code> is allowed inside <pre>"),
    ("<pre><pre>x</pre></pre>", "only <code> is allowed inside <pre>"),
    ("<pre><code><code>x</code></code></pre>", "inside <code>"),
    ("<blockquote><blockquote>x</blockquote></blockquote>", "cannot be inside"),
    ("<blockquote><pre>x</pre></blockquote>", "cannot be inside"),
    ('<a href="https://x.y"><a href="https://z.y">x</a></a>', "cannot be inside"),
    ('<a href="https://x.y"><code>x</code></a>', "cannot be inside"),
    ("x < y", "Unescaped '<'"),
    ("x > y", "Unescaped '>'"),
    ("fish & chips", "entity"),
    ("&nbsp;space", "entity"),
    ("&#0;zero", "entity"),
    ("&#xD800;surrogate", "entity"),
    ('<a href="https://x.y/?a=1&b=2">x</a>', "entity"),
    ("", "message text is empty"),
    ("   \n  ", "message text is empty"),
    ("<b> </b>", "message text is empty"),
]


@pytest.mark.parametrize("text", GOOD)
def test_accepts_valid_html(text: str) -> None:
    assert telegram_html_problems(text) == []


@pytest.mark.parametrize(("text", "expected"), BAD)
def test_rejects_invalid_html(text: str, expected: str) -> None:
    problems = telegram_html_problems(text)
    assert problems, f"{text!r} should be rejected"
    assert any(expected in p for p in problems), problems


def test_limit_counts_visible_utf16_units() -> None:
    assert telegram_html_problems("a" * 4096) == []
    assert telegram_html_problems("<b>" + "a" * 4096 + "</b>") == []
    assert telegram_html_problems("&amp;" * 4096) == []
    assert any("too long" in p for p in telegram_html_problems("a" * 4097))
    # An emoji is one code point but two UTF-16 units.
    assert telegram_html_problems("😀" * 2048) == []
    assert any("too long" in p for p in telegram_html_problems("😀" * 2048 + "a"))
    assert any("too long" in p for p in telegram_html_problems("abc", limit=2))


def test_visible_text_strips_tags_and_decodes_entities() -> None:
    html = '<b>a &lt;</b> <a href="https://x.y">b</a> &#x263A; &quot;'
    assert visible_text(html) == 'a < b ☺ "'
