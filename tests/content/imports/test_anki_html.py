"""Anki field HTML to our Markdown: what Telegram then shows is what the card showed."""

from __future__ import annotations

import pytest

from bot.content.imports.anki_html import html_to_markdown, media_names
from bot.rendering.markdown import markdown_to_blocks


@pytest.mark.parametrize(
    ("html", "markdown"),
    [
        ("What is <b>attention</b>?", "What is **attention**?"),
        ("<strong>a</strong> <em>b</em> <i>c</i>", "**a** *b* *c*"),
        ("<b> spaced </b>out", "**spaced** out"),
        ("<div>Line one</div><div>Line two</div>", "Line one\n\nLine two"),
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ("a<br>b<br><br>c", "a\\\nb\n\nc"),
        ("&lt;tag&gt; &amp; &quot;q&quot;&nbsp;x", '\\<tag> \\& "q" x'),
        (
            "<ul><li>one</li><li>two <i>it</i><ul><li>deep</li></ul></li></ul>end",
            "- one\n- two *it*\n  - deep\n\nend",
        ),
        ("<ol><li>first</li><li>second<br>more</li></ol>", "1. first\n2. second\\\n   more"),
        (
            "# no heading<br>- no list<br>1. no number",
            "\\# no heading\\\n\\- no list\\\n1\\. no number",
        ),
        ("a*b_c `d` ~e~ |f| $5", "a\\*b\\_c \\`d\\` \\~e\\~ \\|f\\| \\$5"),
        (
            "Loss \\(L = \\sum_i x_i^2\\) and \\[E = mc^2\\]",
            "Loss \\(L = \\sum_i x_i^2\\) and \\[E = mc^2\\]",
        ),
        ("[$]x^2[/$] and [$$]y[/$$]", "\\(x^2\\) and \\[y\\]"),
        (
            '<a href="https://example.org/a(b)">the <b>docs</b></a>',
            "[the **docs**](https://example.org/a%28b%29)",
        ),
        ('<a href="javascript:alert(1)">x</a>', "x"),
        ("[x](y)", "[x]&#40;y)"),
        ("[ref]: https://x", "&#91;ref]: https://x"),
        ("[…] is blank", "[…] is blank"),
        ("use <code>a_b*c</code> here", "use `a_b*c` here"),
        (
            '<pre><code class="language-python">x = 1\n  y*2</code></pre>after',
            "```python\nx = 1\n  y*2\n```\n\nafter",
        ),
        ('Pic <img src="cat.jpg"> here [sound:meow.mp3]', "Pic here"),
        ("<span style='color:red'>red</span> <u>under</u> H<sub>2</sub>O", "red under H2O"),
        ("<script>alert(1)</script><style>b{}</style>kept", "kept"),
        (
            "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>",
            "a · b\\\nc · d",
        ),
        ("", ""),
    ],
)
def test_html_to_markdown(html: str, markdown: str) -> None:
    assert html_to_markdown(html) == markdown


def test_literal_characters_stay_literal_when_rendered() -> None:
    markdown = html_to_markdown("2*3*4 = 24, a_b_c, [x](y), \\(x_1 * y\\), $5 &amp; $6")
    assert markdown_to_blocks(markdown) == ["2*3*4 = 24, a_b_c, [x](y), x₁ * y, $5 &amp; $6"]


def test_media_names() -> None:
    html = 'A <img src="a.png"> <IMG alt=x SRC=b.gif> [sound:c.mp3] <audio src="d.ogg">'
    assert media_names(html) == {"a.png", "b.gif", "c.mp3", "d.ogg"}
