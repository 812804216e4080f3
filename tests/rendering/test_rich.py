"""Bank Markdown to rich-message HTML: exact output for small inputs, limits for big ones.

Every body produced here also goes through a small structural check (tags on
Telegram's rich-message list, balanced, known entities, the limits), so an
expected string updated carelessly still cannot hide markup Telegram rejects.
The fake Bot API (tests/support) validates the same bodies end to end.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.content import DeckFile
from bot.rendering import RenderError
from bot.rendering.rich import (
    RICH_MAX_BLOCKS,
    RICH_MAX_COLUMNS,
    RICH_MAX_DEPTH,
    RICH_TEXT_LIMIT,
    RichSize,
    measure_rich,
    needs_rich,
    render_rich_answer,
    render_rich_question,
)

CONTENT = Path(__file__).resolve().parents[2] / "content"

_ALLOWED = {
    "b": set(),
    "i": set(),
    "s": set(),
    "code": {"class"},
    "a": {"href"},
    "br": set(),
    "tg-math": set(),
    "p": set(),
    "h1": set(),
    "h2": set(),
    "h3": set(),
    "h4": set(),
    "h5": set(),
    "h6": set(),
    "pre": set(),
    "hr": set(),
    "ul": set(),
    "ol": {"start"},
    "li": set(),
    "blockquote": set(),
    "table": set(),
    "tr": set(),
    "th": {"align"},
    "td": {"align"},
    "details": set(),
    "summary": set(),
    "tg-math-block": set(),
}
_VOID = {"br", "hr"}
_INLINE = {"b", "i", "s", "code", "a", "br", "tg-math"}
_ENTITIES = {"lt", "gt", "amp", "quot"}
_TAG = re.compile(r"<(/?)([a-z][a-z0-9-]*)((?:\s+[a-z-]+=\"[^\"<>]*\")*)\s*>")
_ATTR = re.compile(r'([a-z-]+)="([^"]*)"')


def rich_problems(markup: str) -> list[str]:
    """What Telegram would reject in a rich body this renderer writes (a strict subset check)."""
    problems: list[str] = []
    stack: list[str] = []
    position = 0
    for match in _TAG.finditer(markup):
        text = markup[position : match.start()]
        if "<" in text or ">" in text:
            problems.append(f"stray angle bracket in {text!r}")
        problems += [f"entity &{e};" for e in re.findall(r"&([a-z]+);", text) if e not in _ENTITIES]
        if re.search(r"&(?![a-z]+;|#[0-9]+;)", text):
            problems.append(f"bare & in {text!r}")
        position = match.end()
        closing, name, attrs = match.groups()
        if name not in _ALLOWED:
            problems.append(f"tag <{name}>")
            continue
        for attr, value in _ATTR.findall(attrs):
            if attr not in _ALLOWED[name]:
                problems.append(f"attribute {attr} on <{name}>")
            if attr == "href" and not re.match(r"(https?:|mailto:|tg://user\?id=)", value):
                problems.append(f"href {value}")
        if name in _VOID:
            continue
        if closing:
            if not stack or stack[-1] != name:
                problems.append(f"unbalanced </{name}>")
            else:
                stack.pop()
        else:
            if {"td", "th"} & set(stack) and name not in _INLINE:
                problems.append(f"block <{name}> in a table cell")
            stack.append(name)
    if stack:
        problems.append(f"unclosed {stack}")
    if "<" in markup[position:] or ">" in markup[position:]:
        problems.append("stray angle bracket at the end")
    size = measure_rich(markup)
    if not size.fits():
        problems.append(f"over a limit: {size}")
    return problems


def one(markdown: str, **options: object) -> str:
    bodies = render_rich_answer(markdown, **options)  # type: ignore[arg-type]
    assert len(bodies) == 1
    assert rich_problems(bodies[0]) == [], bodies[0]
    return bodies[0]


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("Hello world.", "<p>Hello world.</p>"),
        ("one\ntwo", "<p>one two</p>"),
        ("line  \nbreak", "<p>line<br>break</p>"),
        ("First.\n\nSecond.", "<p>First.</p><p>Second.</p>"),
        ("**bold**, *it*, ~~gone~~", "<p><b>bold</b>, <i>it</i>, <s>gone</s></p>"),
        ("use `a < b && c`", "<p>use <code>a &lt; b &amp;&amp; c</code></p>"),
        ("## Title *x*", "<h2>Title <i>x</i></h2>"),
        ("---", "<hr>"),
        (
            "> quoted\n>\n> > inner",
            "<blockquote><p>quoted</p><blockquote><p>inner</p></blockquote></blockquote>",
        ),
    ],
)
def test_paragraphs_headings_quotes(markdown: str, expected: str) -> None:
    assert one(markdown) == expected


def test_lists_in_lists() -> None:
    markdown = "- one\n- two\n  1. nested\n     - deep **b**\n  2. next\n- three"
    assert one(markdown) == (
        "<ul><li>one</li><li>two<ol><li>nested<ul><li>deep <b>b</b></li></ul></li>"
        "<li>next</li></ol></li><li>three</li></ul>"
    )


def test_loose_list_ordered_from_three() -> None:
    markdown = "3. first\n\n   more\n\n4. second"
    assert one(markdown) == (
        '<ol start="3"><li><p>first</p><p>more</p></li><li><p>second</p></li></ol>'
    )


def test_table() -> None:
    markdown = "| model | params |\n|:--|--:|\n| **BERT** | $10^8$ |\n| `gpt` | a<b |"
    assert one(markdown) == (
        '<table><tr><th align="left">model</th><th align="right">params</th></tr>'
        '<tr><td align="left"><b>BERT</b></td><td align="right"><tg-math>10^8</tg-math></td></tr>'
        '<tr><td align="left"><code>gpt</code></td><td align="right">a&lt;b</td></tr></table>'
    )


def test_display_math_in_a_table_cell_stays_inline() -> None:
    assert one("| a |\n|---|\n| $$x$$ |") == (
        "<table><tr><th>a</th></tr><tr><td><tg-math>x</tg-math></td></tr></table>"
    )


def test_a_table_wider_than_telegram_allows_becomes_a_list() -> None:
    columns = RICH_MAX_COLUMNS + 1
    head = "| " + " | ".join(f"h{c}" for c in range(columns)) + " |"
    rule = "|" + "---|" * columns
    row = "| " + " | ".join(f"v{c}" for c in range(columns)) + " |"
    body = one("\n".join([head, rule, row]))
    pairs = "; ".join(f"<b>h{c}</b>: v{c}" for c in range(columns))
    assert body == f"<ul><li>{pairs}</li></ul>"


def test_a_table_of_exactly_twenty_columns_stays_a_table() -> None:
    columns = RICH_MAX_COLUMNS
    head = "| " + " | ".join("h" for _ in range(columns)) + " |"
    rule = "|" + "---|" * columns
    assert one(f"{head}\n{rule}").startswith("<table><tr><th>h</th>")


def test_code_with_a_language() -> None:
    markdown = "```python\nif a < b:\n    print('&')\n```"
    assert one(markdown) == (
        "<pre><code class=\"language-python\">if a &lt; b:\n    print('&amp;')</code></pre>"
    )


def test_code_without_a_language_and_math_inside_code() -> None:
    assert one("```\n$x$ \\(y\\)\n```") == "<pre>$x$ \\(y\\)</pre>"
    assert one("`$x$`") == "<p><code>$x$</code></p>"
    assert one("```math\n\\frac{a}{b}\n```") == "<tg-math-block>\\frac{a}{b}</tg-math-block>"


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        (r"Cost \(O(T^2 d)\).", "<p>Cost <tg-math>O(T^2 d)</tg-math>.</p>"),
        ("Cost $O(T^2 d)$.", "<p>Cost <tg-math>O(T^2 d)</tg-math>.</p>"),
        (
            "Weight $\\theta_j$ and $w_i * x_i$",
            "<p>Weight <tg-math>\\theta_j</tg-math> and <tg-math>w_i * x_i</tg-math></p>",
        ),
        (
            "Loss:\n\\[ L = -\\sum_i y_i \\log p_i \\]\nso",
            "<p>Loss:</p><tg-math-block>L = -\\sum_i y_i \\log p_i</tg-math-block><p>so</p>",
        ),
        ("$$\na^2 + b^2\n$$", "<tg-math-block>a^2 + b^2</tg-math-block>"),
        ("- item $$x$$", "<ul><li><p>item</p><tg-math-block>x</tg-math-block></li></ul>"),
        ("costs $5 and $6", "<p>costs $5 and $6</p>"),
    ],
)
def test_inline_and_display_math(markdown: str, expected: str) -> None:
    assert one(markdown) == expected


def test_escaping_in_formulas_and_text() -> None:
    markdown = r"If \(a < b \& c > d\), then a<b & c\d; <script>x</script> \[ \{x \mid x<1\} \]"
    assert one(markdown) == (
        "<p>If <tg-math>a &lt; b \\&amp; c &gt; d</tg-math>, then a&lt;b &amp; c\\d; "
        "&lt;script&gt;x&lt;/script&gt;</p>"
        "<tg-math-block>\\{x \\mid x&lt;1\\}</tg-math-block>"
    )


def test_raw_html_blocks_stay_text() -> None:
    assert one("<details open>\n<summary>x</summary>\n</details>") == (
        "<p>&lt;details open&gt; &lt;summary&gt;x&lt;/summary&gt; &lt;/details&gt;</p>"
    )


def test_links() -> None:
    markdown = (
        '[a](https://x.io/?q=1&r="2") [b](javascript:alert(1)) [c](tg://resolve?d=x) '
        "[d](tg://user?id=5) [`e`](mailto:e@x.io) <https://x.io/f>"
    )
    assert one(markdown) == (
        '<p><a href="https://x.io/?q=1&amp;r=%222%22">a</a> [b](javascript:alert(1)) c '
        '<a href="tg://user?id=5">d</a> <a href="mailto:e@x.io">e</a> '
        '<a href="https://x.io/f">https://x.io/f</a></p>'
    )


def test_header_and_hidden_group_form() -> None:
    assert one("$x$", header="Model <answer> & co") == (
        "<p><b>Model &lt;answer&gt; &amp; co</b></p><p><tg-math>x</tg-math></p>"
    )
    assert one("$x$", hidden=True) == (
        "<details><summary>Model answer: tap to open</summary><p><tg-math>x</tg-math></p></details>"
    )
    assert one("$x$", header="Answer", hidden=True) == (
        "<details><summary>Answer: tap to open</summary><p><tg-math>x</tg-math></p></details>"
    )


def test_an_empty_answer_is_an_error() -> None:
    with pytest.raises(RenderError):
        render_rich_answer("   \n\n")


def test_nesting_deeper_than_telegram_allows_is_flattened() -> None:
    # 9 levels: markdown-it's own nesting limit (20 tokens) drops anything deeper
    markdown = "".join(f"{'  ' * level}- level {level} **b *i* `c`**\n" for level in range(9))
    markdown += "\n" + ">" * 9 + " deep $x$"
    body = one(markdown, hidden=True)
    assert measure_rich(body).depth <= RICH_MAX_DEPTH
    assert "<p>– level 8 <b>b <i>i</i> <code>c</code></b></p>" in body
    for level in range(9):
        assert f"level {level} " in body
    assert "deep <tg-math>x</tg-math>" in body


def test_a_long_answer_is_split_between_blocks_and_numbered() -> None:
    paragraph = "word " * 999 + "end."  # 5,000 characters
    markdown = "\n\n".join(f"{n} {paragraph}" for n in range(8))  # 40,000 characters
    bodies = render_rich_answer(markdown, header="Model answer")
    assert len(bodies) == 2
    assert bodies[0].startswith("<p><i>(1/2)</i></p><p><b>Model answer</b></p><p>0 word")
    assert bodies[1].startswith("<p><i>(2/2)</i></p><p>6 word")
    assert bodies[0].count("<p>") == 1 + 1 + 6
    assert bodies[1].count("<p>") == 1 + 2
    for body in bodies:
        assert rich_problems(body) == []
    hidden = render_rich_answer(markdown, hidden=True)
    assert [body[:60] for body in hidden] == [
        "<details><summary>Model answer (1/2): tap to open</summary><",
        "<details><summary>Model answer (2/2): tap to open</summary><",
    ]


def test_a_list_over_the_block_limit_is_split_between_items() -> None:
    markdown = "\n".join(f"{n}. item" for n in range(1, RICH_MAX_BLOCKS + 11))
    bodies = render_rich_answer(markdown)
    assert len(bodies) == 2
    for body in bodies:
        assert rich_problems(body) == []
    second = bodies[1].removeprefix("<p><i>(2/2)</i></p>")
    first_number = int(re.match(r'<ol start="(\d+)"><li>item</li>', second).group(1))  # type: ignore[union-attr]
    assert first_number - 1 == bodies[0].count("<li>")
    assert bodies[0].count("<li>") + bodies[1].count("<li>") == RICH_MAX_BLOCKS + 10


def test_one_block_over_the_character_limit_is_cut() -> None:
    code = "x = 1\n" * (RICH_TEXT_LIMIT // 5)
    bodies = render_rich_answer(f"```python\n{code}```")
    assert len(bodies) == 2
    for body in bodies:
        assert rich_problems(body) == []
        assert '<pre><code class="language-python">' in body


def test_renders_are_memoised() -> None:
    assert render_rich_answer("memo $x$") is render_rich_answer("memo $x$")


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("What is attention?", False),
        ("Why is `softmax` stable?", True),
        ("Derive $\\nabla L$.", True),
        ("Explain:\n\n```\ncode\n```", True),
        ("It costs $5 or $6.", False),
    ],
)
def test_needs_rich(markdown: str, expected: bool) -> None:
    assert needs_rich(markdown) is expected


def test_questions() -> None:
    assert render_rich_question("What is attention?", header="NLP") is None
    body = render_rich_question(
        "Why is \\(\\sqrt{d_k}\\) in <attention>?", header="NLP · transformers", footer="Q 3"
    )
    assert body == (
        "<p><b>NLP · transformers</b></p>"
        "<p>Why is <tg-math>\\sqrt{d_k}</tg-math> in &lt;attention&gt;?</p><p>Q 3</p>"
    )
    assert rich_problems(body) == []


def _bank() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted(CONTENT.glob("*.yaml")):
        deck = DeckFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        found += [(q.id, q.question, q.answer) for q in deck.questions]
    return found


def test_no_answer_in_the_bank_needs_more_than_one_message() -> None:
    bank = _bank()
    assert len(bank) >= 300
    problems = []
    for question_id, question, answer in bank:
        for hidden in (False, True):
            bodies = render_rich_answer(answer, header="Model answer", hidden=hidden)
            if len(bodies) != 1:
                problems.append(f"{question_id}: {len(bodies)} parts")
            problems += [f"{question_id}: {p}" for p in rich_problems(bodies[0])]
        rich_question = render_rich_question(question, header="Deck", footer="footer")
        if rich_question is not None:
            problems += [f"{question_id} question: {p}" for p in rich_problems(rich_question)]
    assert problems == []


def test_measure_counts_what_telegram_limits() -> None:
    body = (
        "<details><summary>Model answer: tap to open</summary>"
        "<p>a &lt; b<br>😀</p><ul><li>x<ul><li><tg-math>\\frac{1}{2}</tg-math></li></ul></li></ul>"
        "</details>"
    )
    # text in UTF-16 units (the emoji counts twice), every block tag, <br> as a level
    assert measure_rich(body) == RichSize(chars=25 + 5 + 2 + 1 + 11, blocks=7, depth=6)
    assert measure_rich("<p>a<br>b</p>") == RichSize(chars=2, blocks=1, depth=2)


_MARKDOWN_PIECES = st.sampled_from(
    [
        "a",
        "word ",
        "\n",
        "\n\n",
        "- ",
        "  - ",
        "1. ",
        "> ",
        "# ",
        "**",
        "*",
        "_",
        "~~",
        "`",
        "```python\n",
        "```\n",
        "$",
        "$$",
        "\\(",
        "\\)",
        "\\[",
        "\\]",
        "\\",
        "<",
        ">",
        "&",
        "&amp;",
        "&#x3c;",
        '"',
        "'",
        "|",
        "| a | b |\n|---|---|\n",
        "[l](",
        "https://x.io/?a=1&b=<",
        ")",
        "javascript:",
        "<b>",
        "</p>",
        "<tg-math>",
        "---\n",
        "    ",
        "\t",
        "😀",
        "\u200d",
        "\x00",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_MARKDOWN_PIECES, max_size=40).map("".join))
def test_any_markdown_renders_to_bodies_telegram_accepts(markdown: str) -> None:
    """Whatever the content, the output is only our tags, balanced, escaped, within limits."""
    try:
        bodies = render_rich_answer(markdown, header="Model <answer>", hidden=True)
    except RenderError:
        return  # nothing to show: the caller sends the HTML fallback
    for body in bodies:
        assert rich_problems(body) == [], (markdown, body)
