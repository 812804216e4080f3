"""Bank Markdown to Telegram HTML: exact output for small inputs, valid splits for big ones.

Every message produced here is also run through the offline Telegram-HTML
checker, so a renderer change that would make Telegram reject a message
fails the tests even when the expected string was updated carelessly.
"""

from __future__ import annotations

import logging
import random
import re

import pytest

from bot.rendering import RenderError, escape_html, render_answer, render_question, utf16_len
from bot.rendering.split import split_blocks
from bot.rendering.tags import visible_len, visible_text
from bot.rendering.tex import tex_to_text
from tests.support.telegram_html import telegram_html_problems

MARKER = re.compile(r"^<i>\((\d+)/(\d+)\)</i>\n")


def render_one(markdown: str) -> str:
    messages = render_answer(markdown)
    for message in messages:
        assert telegram_html_problems(message) == [], message
    assert len(messages) == 1
    return messages[0]


def assert_valid(messages: list[str], limit: int = 4096) -> None:
    for message in messages:
        assert telegram_html_problems(message, limit=limit) == [], message


def squash(text: str) -> str:
    return "".join(text.split())


def test_text_helpers() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("😀") == 2
    assert utf16_len("é😀x") == 4
    assert escape_html('<a href="x">&</a>') == '&lt;a href="x"&gt;&amp;&lt;/a&gt;'


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("Hello world.", "Hello world."),
        ("one\ntwo", "one two"),
        ("line  \nbreak", "line\nbreak"),
        ("First.\n\nSecond.", "First.\n\nSecond."),
        ("**bold** and *italic* and _also_", "<b>bold</b> and <i>italic</i> and <i>also</i>"),
        ("~~gone~~", "<s>gone</s>"),
        ("use `a < b && c`", "use <code>a &lt; b &amp;&amp; c</code>"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("a <b>raw</b> tag", "a &lt;b&gt;raw&lt;/b&gt; tag"),
        ("AT&T", "AT&amp;T"),
        (
            "[docs](https://example.com/?a=1&b=2)",
            '<a href="https://example.com/?a=1&amp;b=2">docs</a>',
        ),
        ("[rel](docs/page.html)", "rel"),
        ("[`code` link](https://x.io)", '<a href="https://x.io">code link</a>'),
        ("<https://x.io/a>", '<a href="https://x.io/a">https://x.io/a</a>'),
        ("![a chart](https://x.io/c.png)", '<a href="https://x.io/c.png">a chart</a>'),
        ("# Title", "<b>Title</b>"),
        ("---", "———"),
        ("> quoted *text*", "<blockquote>quoted <i>text</i></blockquote>"),
        ("> outer\n>> inner", "<blockquote>outer\ninner</blockquote>"),
        ("> ```\n> x = 1\n> ```", "<blockquote><code>x = 1</code></blockquote>"),
    ],
)
def test_inline_and_simple_blocks(markdown: str, expected: str) -> None:
    assert render_one(markdown) == expected


def test_nested_bullets() -> None:
    markdown = "- one\n- two\n  - nested\n    - deep\n- three"
    assert render_one(markdown) == "• one\n• two\n  ◦ nested\n    ▪ deep\n• three"


def test_single_item_and_ordered_lists() -> None:
    assert render_one("- only") == "• only"
    assert render_one("3. c\n4. d") == "3. c\n4. d"
    assert render_one("1. first\n   second line  \n   third") == "1. first second line\n   third"


def test_loose_list_item_with_code() -> None:
    markdown = "1. item\n\n   more\n\n   ```\n   code\n     indented\n   ```\n2. next"
    expected = "1. item\n   more\n   <pre>code\n  indented</pre>\n2. next"
    assert render_one(markdown) == expected


def test_code_block_with_language() -> None:
    markdown = "```python\nif a < b:\n    print('&')\n```"
    expected = "<pre><code class=\"language-python\">if a &lt; b:\n    print('&amp;')</code></pre>"
    assert render_one(markdown) == expected


def test_code_block_without_language_and_indented() -> None:
    assert render_one("```\nx\n```") == "<pre>x</pre>"
    assert render_one("para\n\n    indented code") == "para\n\n<pre>indented code</pre>"


def test_table_becomes_monospace() -> None:
    markdown = "| model | params |\n|---|---|\n| **BERT** | 110M |"
    expected = "<pre>model | params\n------+-------\nBERT  | 110M</pre>"
    assert render_one(markdown) == expected


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        (r"Cost is \(O(T^2 d)\).", "Cost is O(T² d)."),
        (r"Weight \(\theta_j\) here", "Weight θⱼ here"),
        (r"\(\frac{a}{b} \leq c \Rightarrow d\)", "a/b ≤ c ⇒ d"),
        (r"\(\hat{y} = \mathbf{W}^\top x\)", "ŷ = 𝐖ᵀx"),
        (r"\(\sum_{i=1}^n x_i\)", "∑ᵢ₌₁ⁿ xᵢ"),
        (r"\(\sigma(z) = \frac{1}{1+e^{-z}}\)", "σ(z) = 1/(1+e⁻ᶻ)"),
        (r"\(x_{i,j}\)", "x_(i,j)"),
        ("$a_1 * b_2$ and $c_3 * d_4$", "a₁ * b₂ and c₃ * d₄"),
        ("costs $5 and $10", "costs $5 and $10"),
        ("`\\(x_1\\)` stays raw", "<code>\\(x_1\\)</code> stays raw"),
        (r"\(a < b\)", "a &lt; b"),
    ],
)
def test_inline_math(markdown: str, expected: str) -> None:
    assert render_one(markdown) == expected


def test_display_math_gets_its_own_line() -> None:
    markdown = (
        "Attention is\n\\[\n\\mathrm{softmax}\\left(\\frac{QK^T}{\\sqrt{d_k}}\\right) V\n\\]\n"
        "where $d_k$ is the key size."
    )
    expected = "Attention is\nsoftmax(QKᵀ/√(dₖ)) V\nwhere dₖ is the key size."
    assert render_one(markdown) == expected
    assert render_one("$$E = mc^2$$") == "E = mc²"


def test_math_inside_code_block_is_not_converted() -> None:
    markdown = "```\ncost = $x_1$ + \\(y\\)\n```\n\nthen $z_2$"
    assert render_one(markdown) == "<pre>cost = $x_1$ + \\(y\\)</pre>\n\nthen z₂"


@pytest.mark.parametrize("tex", ["\\frac{", "}}}{{", "\\", "x^", "\\sqrt", "\\begin{x}"])
def test_bad_tex_never_raises(tex: str) -> None:
    assert tex_to_text(tex)  # falls back to the source
    assert_valid(render_answer(f"broken \\({tex}\\) math"))


@pytest.mark.parametrize(
    "markdown",
    [
        "[unclosed](http://x",
        "**unbalanced *emphasis",
        "``` unterminated fence\ncode",
        "> > > deep\n> quote",
        "- a\n\t- b\n\t\t- c",
        "\\(unclosed math",
        "& < > &amp; &nbsp; &#0; &#xD800;",
        "\x00 null and \ufeff bom",
        "|a|\n|-|\n|<b>|",
        "* * *\n___",
    ],
)
def test_odd_markdown_renders_valid_html(markdown: str) -> None:
    assert_valid(render_answer(markdown))
    assert_valid(render_answer(markdown, spoiler=True, header="<b>A</b>"))


@pytest.mark.parametrize("markdown", ["", "   \n\n  ", "```\n```", "\\( \\)"])
def test_empty_answer_is_a_render_error(markdown: str) -> None:
    with pytest.raises(RenderError):
        render_answer(markdown)


def test_header_and_spoiler_single_part() -> None:
    messages = render_answer("**x** and `y`", spoiler=True, header="<b>Answer</b>")
    assert messages == ["<b>Answer</b>\n\n<tg-spoiler><b>x</b> and <code>y</code></tg-spoiler>"]
    assert_valid(messages)
    # A body that looks like a part marker is still wrapped whole.
    assert render_answer("*(note)*\nmore", spoiler=True) == [
        "<tg-spoiler><i>(note)</i> more</tg-spoiler>"
    ]


def long_answer() -> str:
    rng = random.Random(7)
    words = ["model", "gradient", "**loss**", "*token*", "`x<y`", "attention", "layer", "&"]
    paragraphs: list[str] = []
    for _ in range(10):
        paragraph: list[str] = []
        while sum(len(w) + 1 for w in paragraph) < 1001:
            paragraph.append(rng.choice(words))
        paragraphs.append(" ".join(paragraph))
    return "\n\n".join(paragraphs)


def test_long_answer_is_split_into_numbered_parts() -> None:
    markdown = long_answer()
    assert len(markdown) >= 10_000
    messages = render_answer(markdown)
    assert_valid(messages)
    assert len(messages) == 3
    bodies = []
    for index, message in enumerate(messages, start=1):
        match = MARKER.match(message)
        assert match, message[:40]
        assert (int(match.group(1)), int(match.group(2))) == (index, 3)
        assert visible_len(message) <= 4096
        bodies.append(message[match.end() :])
    whole = render_answer(markdown, limit=100_000)
    assert len(whole) == 1
    assert squash("".join(visible_text(b) for b in bodies)) == squash(visible_text(whole[0]))


def test_limits_hold_with_header_and_spoiler() -> None:
    markdown = long_answer()
    for limit in (4096, 1000, 300):
        messages = render_answer(markdown, spoiler=True, header="<b>Answer</b>", limit=limit)
        assert_valid(messages, limit=limit)
        assert messages[0].startswith("<i>(1/")
        assert "<b>Answer</b>" in messages[0]
        assert all("<tg-spoiler>" in m for m in messages)
        assert all("<b>Answer</b>" not in m for m in messages[1:])


def test_paragraph_cut_closes_and_reopens_tags() -> None:
    markdown = "**" + " ".join(f"word{i}" for i in range(200)) + "**"
    messages = render_answer(markdown, limit=400)
    assert len(messages) > 1
    assert_valid(messages, limit=400)
    words: list[str] = []
    for message in messages:
        body = MARKER.sub("", message)
        assert body.startswith("<b>")
        assert body.endswith("</b>")
        words.extend(visible_text(body).split())
    assert words == [f"word{i}" for i in range(200)]  # cut between words, none lost


def test_giant_code_block_is_split_at_lines_and_rewrapped() -> None:
    lines = [f"x_{i} = compute({i}, 'a<b&c')  # step {i}" for i in range(400)]
    markdown = "```python\n" + "\n".join(lines) + "\n```"
    messages = render_answer(markdown)
    assert len(messages) > 1
    assert_valid(messages)
    seen: list[str] = []
    for message in messages:
        body = MARKER.sub("", message)
        assert body.startswith('<pre><code class="language-python">')
        assert body.endswith("</code></pre>")
        seen.extend(visible_text(body).split("\n"))
    assert seen == lines


def test_astral_characters_count_double_and_are_never_halved() -> None:
    markdown = "😀" * 3000
    messages = render_answer(markdown)
    assert_valid(messages)
    assert len(messages) == 2
    total = 0
    for message in messages:
        text = visible_text(MARKER.sub("", message))
        text.encode("utf-16-le")  # would raise on a lone surrogate
        total += text.count("😀")
    assert total == 3000


def test_hard_split_never_cuts_an_entity_or_a_joined_emoji() -> None:
    family = "👨\u200d👩\u200d👧"
    for markdown in ("&" * 9000, "x" * 50 + family * 1000, "é" * 5000):
        messages = render_answer(markdown, limit=500)
        assert_valid(messages, limit=500)
    messages = render_answer(family * 1000, limit=500)
    for message in messages:
        assert not visible_text(MARKER.sub("", message)).startswith("\u200d")


def test_split_blocks_packs_greedily() -> None:
    blocks = ["a" * 40, "b" * 40, "c" * 40]
    assert split_blocks(blocks, limit=100) == ["a" * 40 + "\n\n" + "b" * 40, "c" * 40]
    assert split_blocks(blocks, limit=100, reserve=30) == blocks
    assert split_blocks(["<b>" + "x" * 10 + "</b>"], limit=10) == ["<b>" + "x" * 10 + "</b>"]
    pieces = split_blocks(["<b>" + "x" * 15 + "</b>"], limit=10)
    assert pieces == ["<b>" + "x" * 10 + "</b>", "<b>" + "x" * 5 + "</b>"]


def test_render_question() -> None:
    text = render_question(
        "What is *attention*? \\(a_i\\)", header="<b>Q1</b>", footer="<i>#nlp</i>"
    )
    assert text == "<b>Q1</b>\n\nWhat is <i>attention</i>? aᵢ\n\n<i>#nlp</i>"
    assert telegram_html_problems(text) == []
    assert render_question("Plain?") == "Plain?"


def test_render_question_too_long_or_empty() -> None:
    with pytest.raises(RenderError, match="over the 4096 limit"):
        render_question("x" * 4097)
    with pytest.raises(RenderError):
        render_question("  ")


@pytest.mark.parametrize(
    "question",
    ["What is *attention*? \\(a_i\\)", "A &amp; B < C?\n\n- one\n- two", "Ünïcode 🙂 `x<y`"],
)
def test_render_question_limit_counts_the_whole_message(question: str) -> None:
    """The body is rendered once per question (cached) while the header changes daily:
    the size check still counts header, body, footer and separators, to the unit."""
    header, footer = "<b>Question of the day · Sat 05 Dec</b> · <i>NLP</i>", "<i>Answer ⬇️</i>"
    text = render_question(question, header=header, footer=footer)
    size = utf16_len(visible_text(text))
    assert render_question(question, header=header, footer=footer, limit=size) == text
    with pytest.raises(RenderError, match=f"the question is {size} UTF-16 units long"):
        render_question(question, header=header, footer=footer, limit=size - 1)
    bare = render_question(question)
    assert text == f"{header}\n\n{bare}\n\n{footer}"
    with pytest.raises(RenderError):
        render_question(question, limit=utf16_len(visible_text(bare)) - 1)


def test_header_never_stands_alone_in_a_part() -> None:
    for markdown in ("x" * 295, "word " * 80, "```\n" + "line\n" * 80 + "```"):
        messages = render_answer(markdown, header="<b>Answer</b>", spoiler=True, limit=300)
        assert len(messages) == 2
        assert_valid(messages, limit=300)
        first = visible_text(messages[0])
        assert "Answer" in first
        assert len(first) > 100


def test_oversized_block_fills_the_current_message() -> None:
    messages = split_blocks(["a" * 50, "b" * 300], limit=100)
    assert [visible_len(m) for m in messages] == [100, 100, 100, 52]
    assert messages[0].startswith("a" * 50 + "\n\n" + "b")


def test_random_markdown_never_raises_and_stays_valid(caplog: pytest.LogCaptureFixture) -> None:
    """Fuzz with Markdown- and TeX-significant fragments; pylatexenc must not log either."""
    alphabet = [*"ab \n*_`~[]()<>&$\\#-|!:.1", "\\(", "\\)", "\\[", "\\]", "```", "- ", "> "]
    alphabet += ["1. ", "    ", "http://x.y", "😀", "\u0301", "\\frac{", "\\.", "x^2", "&amp;"]
    rng = random.Random(2024)
    with caplog.at_level(logging.WARNING):
        for _ in range(400):
            markdown = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60)))
            try:
                messages = render_answer(markdown, spoiler=True, header="<b>A</b>", limit=120)
            except RenderError:
                continue
            assert_valid(messages, limit=120)
    assert caplog.records == []
