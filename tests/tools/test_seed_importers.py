"""The seed importers on small inline snippets of each tricky case, and the YAML writer."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

from bot.domain.content import DeckFile, DeckHeader, Question, Source
from tools.seed_importers import allocate_id, assign_tags
from tools.seed_importers.aman import answer_markdown, import_aman, looks_like_code, parse_page
from tools.seed_importers.flashcards import answer_markdown as card_markdown
from tools.seed_importers.flashcards import import_flashcards, parse_cards
from tools.seed_importers.markdown_escape import Code, inline
from tools.seed_importers.yaml_writer import dump_deck, write_decks

# ---------------------------------------------------------------------------
# Seed 000: page structure
# ---------------------------------------------------------------------------

PAGE = """\
Test Page • Interview Questions
- Deep Learning
- What is dropout?
- Explain how seeds work.
- What is a Seed?
- How to Control the Seed in Code
- Practical Example: Changing the Seed
- Why This Matters
- What is Entropy in Information Theory?
- What is Entropy in Information Theory?
- Data science interviews are hard - regardless which side you are on.
- Active learning
- What is active learning?
- Misc
- What is Redis?
- References
- Citation
Deep Learning
What is dropout?
- Dropout randomly zeroes activations.
- It regularises the network.
Explain how seeds work.
- Seeds make sampling repeatable.
What is a Seed?
- A seed starts the random number generator.
How to Control the Seed in Code
- Call set_seed once.
Practical Example: Changing the Seed
for seed in [1, 2]:
print(generate(seed))
Why This Matters
- Reproducible experiments.
What is Entropy in Information Theory?
- Entropy quantifies uncertainty.
What is Entropy in Information Theory?
- It is measured in bits.
Data science interviews are hard - regardless which side you are on.
- Some musings about hiring.
Active learning
- Active learning picks the samples to label.
- The model asks for labels of uncertain samples.
What is active learning?
- Active learning picks the samples to label.
- The model asks for labels of uncertain samples.
- It is semi-supervised.
Misc
What is Redis?
- An in-memory key-value store.
What is an isotropic cluster?
- A cluster with equal variance in every direction.
Why is Redis fast?
-
It keeps data in memory.
References
- Some link
Citation
@article{x, title = {y}}
"""


@pytest.fixture
def page_seed(tmp_path: Path) -> Path:
    path = tmp_path / "page.txt"
    path.write_text(PAGE, encoding="utf-8")
    return path


def _questions(decks: list[DeckFile]) -> dict[str, Question]:
    return {q.question: q for deck in decks for q in deck.questions}


def test_sections_become_decks_with_attribution(page_seed: Path) -> None:
    decks = import_aman(page_seed)
    assert [d.deck.id for d in decks] == ["deep-learning", "misc"]
    source = decks[0].deck.source
    assert source.name == "Test Page • Interview Questions"
    assert "Aman Chadha" in source.attribution


def test_title_case_run_after_a_question_is_merged_as_sub_headings(page_seed: Path) -> None:
    decks = import_aman(page_seed)
    questions = _questions(decks)
    assert "What is a Seed?" not in questions
    assert "How to Control the Seed in Code" not in questions
    answer = questions["Explain how seeds work."].answer
    assert "**What is a Seed?**" in answer
    assert "**How to Control the Seed in Code**" in answer
    assert "**Why This Matters**" in answer
    assert "```python\nfor seed in [1, 2]:\nprint(generate(seed))\n```" in answer
    notes = decks[0].deck.notes or ""
    assert "“What is a Seed?”" in notes
    assert "“Why This Matters”" in notes


def test_title_case_questions_stay_questions() -> None:
    page = parse_page(
        "Title\n- Deep Learning\n- what is a loss?\n- What is Deep Learning?\n"
        "- How Does Backpropagation Work?\nDeep Learning\nwhat is a loss?\n- A number.\n"
        "What is Deep Learning?\n- Neural nets.\nHow Does Backpropagation Work?\n- Chain rule.\n",
        sections=("Deep Learning",),
    )
    assert len(page.drafts) == 3


def test_body_questions_missing_from_the_toc_are_found(page_seed: Path) -> None:
    decks = import_aman(page_seed)
    misc = _questions(decks[1:])
    assert "What is an isotropic cluster?" in misc
    assert misc["What is an isotropic cluster?"].answer.startswith("- A cluster with equal")
    assert "“What is an isotropic cluster?”" in (decks[1].deck.notes or "")


def test_body_question_restating_the_current_one_is_a_sub_heading() -> None:
    page = parse_page(
        "Title\n- Misc\n- Why is Flash attention needed, and how does it work?\n"
        "Misc\nWhy is Flash attention needed, and how does it work?\n- Intro.\n"
        "Why is Flash Attention Needed?\n- Memory.\nHow Does Flash Attention Work?\n- Tiling.\n",
        sections=("Misc",),
    )
    assert [d.question for d in page.drafts] == [
        "Why is Flash attention needed, and how does it work?"
    ]
    answer = answer_markdown(page.drafts[0].lines).markdown
    assert "**Why is Flash Attention Needed?**" in answer
    assert "**How Does Flash Attention Work?**" in answer
    assert any("“How Does Flash Attention Work?”" in note for note in page.notes["Misc"])


def test_duplicated_toc_entry_yields_one_question_with_both_answers(page_seed: Path) -> None:
    decks = import_aman(page_seed)
    entropy = [q for q in decks[0].questions if q.question.startswith("What is Entropy")]
    assert len(entropy) == 1
    assert "uncertainty" in entropy[0].answer
    assert "bits" in entropy[0].answer
    ids = [q.id for deck in decks for q in deck.questions]
    assert len(ids) == len(set(ids))


def test_topic_headings_are_rephrased_or_dropped_with_notes(page_seed: Path) -> None:
    decks = import_aman(page_seed)
    questions = _questions(decks)
    notes = decks[0].deck.notes or ""
    assert "Data science interviews are hard" not in " ".join(questions)
    assert "Dropped “Data science interviews are hard" in notes
    # "Active learning" is asked as "What is active learning?", which duplicates the next one.
    active = [q for q in questions if "active learning" in q.lower()]
    assert active == ["What is active learning?"]
    assert "It is semi-supervised." in questions["What is active learning?"].answer
    assert "“Active learning”" in notes


def test_trailing_references_and_citation_are_dropped(page_seed: Path) -> None:
    decks = import_aman(page_seed)
    text = " ".join(q.answer for deck in decks for q in deck.questions)
    assert "@article" not in text
    assert "Some link" not in text
    assert "“References” and “Citation”" in (decks[-1].deck.notes or "")


def test_bare_dash_takes_the_next_line_as_its_text(page_seed: Path) -> None:
    misc = _questions(import_aman(page_seed)[1:])
    assert misc["Why is Redis fast?"].answer == "- It keeps data in memory."


def test_related_question_inside_an_answer_becomes_its_own_question() -> None:
    text = PAGE.replace(
        "- It regularises the network.\n",
        "- It regularises the network.\nRelated: Why does dropout help?\n- It averages models.\n",
    )
    page = parse_page(text)
    asked = [d.question for d in page.drafts]
    assert "Why does dropout help?" in asked


def test_reimport_is_deterministic(page_seed: Path) -> None:
    first = [dump_deck(deck) for deck in import_aman(page_seed)]
    second = [dump_deck(deck) for deck in import_aman(page_seed)]
    assert first == second


# ---------------------------------------------------------------------------
# Seed 000: answer text
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "def common_func(X, Y):",
        "Z=[]",
        "for i in X:",
        "if i==j and i not in Z:",
        "Z.append(i)",
        "return Z",
        "set(X).intersect(set(Y))",
        "set(X) & set(Y)",
        "nums[counts!=1]",
        "from itertools import combinations",
        "import openai",
        "else:",
        ")",
        "# Usage",
        "temperature=0.7 # adjust this for variability",
        'print(f"Seed {seed}: {output}\\n")',
        "SELECT name, age FROM users WHERE age > 30;",
        "ORDER BY column ASC/DESC",
        "corr(x,y,'type','Spearman'); % will equal 1, and",
        "void swap(int *a, int *b) { int temp = *a; *a = *b; *b = temp; }",
        '{ "setting1": "value1", "setting2": "value2" }',
        "a = a XOR b",
    ],
)
def test_code_lines_are_detected(line: str) -> None:
    assert looks_like_code(line)


@pytest.mark.parametrize(
    "line",
    [
        "Using sets is a very good way to do it since it utilizes a hash map.",
        "Heavily Parameterized Large Language Models + Basic Linear Algebra Theorem = Save GPU!",
        "for cat and5.6",
        "Person 1's rules:",
        "A1:",
        "With just 23 people there is over 50% chance of a match.",
        "\\[p(x) = nCx p^x q^(n-x)\\]",
        "### 5. Code Comments and Explanations",
        "If the query has a GROUP BY clause, then the constraints apply:",
        "1.FROMandJOINs",
    ],
)
def test_prose_is_not_code(line: str) -> None:
    assert not looks_like_code(line)


def test_code_runs_become_fenced_blocks_inside_their_bullet() -> None:
    answer = answer_markdown(
        [
            "- A3:",
            "def common_func(X, Y):",
            "Z=[]",
            "return Z",
            "- This leads to O(N*M) time.",
            "SELECT a",
            "FROM t;",
        ]
    ).markdown
    assert answer == (
        "- A3:\n"
        "  ```python\n"
        "  def common_func(X, Y):\n"
        "  Z=[]\n"
        "  return Z\n"
        "  ```\n"
        "  - This leads to O(N\\*M) time.\n"
        "    ```sql\n"
        "    SELECT a\n"
        "    FROM t;\n"
        "    ```"
    )


def test_unclosed_source_fence_takes_the_following_code_lines() -> None:
    answer = answer_markdown(
        ["Example:", "```python", "result = a + b", "### 5. Code Comments", "- Comments."]
    ).markdown
    assert "```python\nresult = a + b\n```" in answer
    assert "**5. Code Comments**" in answer


def test_split_off_inline_code_is_joined_back() -> None:
    answer = answer_markdown(
        [
            "- Logits will be, say,",
            "10.1",
            "for cat and5.6",
            "for dog. - Soft targets: are normalised logits.",
            "- Load weights using",
            "mmap()",
            "instead of standard I/O.",
        ]
    ).markdown
    assert answer.splitlines() == [
        "- Logits will be, say, `10.1` for cat and `5.6` for dog.",
        "- Soft targets: are normalised logits.",
        "- Load weights using `mmap()` instead of standard I/O.",
    ]


def test_glued_token_split_prefers_a_token_seen_before() -> None:
    answer = answer_markdown(
        ["- OpenAI doesn't use", "seed", "directly, adding aseed", "-specific suffix helps."]
    ).markdown
    assert answer == "- OpenAI doesn't use `seed` directly, adding a `seed`-specific suffix helps."


def test_repeated_first_line_of_a_nested_list_is_dropped() -> None:
    answer = answer_markdown(
        [
            "- Techniques:",
            "- Oversampling: more minority samples.",
            "- SMOTE: synthetic samples.",
            "- Undersampling: fewer majority samples.",
            "- Oversampling: more minority samples.",
            "- Metrics:",
            "- F1",
        ]
    ).markdown
    assert answer.count("Oversampling") == 1
    assert answer.splitlines()[-2:] == ["- Metrics:", "  - F1"]


def test_genuine_repeated_labels_are_kept() -> None:
    answer = answer_markdown(
        [
            "- Batch gradient descent:",
            "- Uses the whole data set for each step of the optimisation.",
            "- Pros:",
            "- Stable.",
            "- Stochastic gradient descent picks one random instance per step of training.",
            "- Pros:",
            "- Fast.",
        ]
    ).markdown
    assert answer.count("- Pros:") == 2


def test_title_lines_become_bold_headings_and_repeated_ones_nested_groups() -> None:
    answer = answer_markdown(
        [
            "Linear Regression",
            "Pros",
            "- Simple.",
            "Cons",
            "- Sensitive to outliers.",
            "k-Nearest Neighbor",
            "Pros",
            "- No training.",
            "Cons",
            "- Slow.",
        ]
    )
    assert answer.markdown.split("\n\n")[:2] == [
        "**Linear Regression**",
        "- **Pros**\n  - Simple.\n- **Cons**\n  - Sensitive to outliers.",
    ]
    assert "**k-Nearest Neighbor**" in answer.markdown
    assert (1, "Linear Regression") in answer.headings
    assert (2, "Cons") in answer.headings


def test_mid_line_bullets_are_split_and_tex_is_kept() -> None:
    answer = answer_markdown(
        ["- The function is given by", "\\[p(x) = p^x q^{1-x}\\]- where,", "- Mean is \\(p\\)."]
    ).markdown
    assert "\\[p(x) = p^x q^{1-x}\\]" in answer
    assert "- where," in answer
    assert "\\(p\\)" in answer


# ---------------------------------------------------------------------------
# Seed 001: flashcards
# ---------------------------------------------------------------------------

CARDS = """\
Oral Exam
ELU
●(Exponential Linear Unit) ● For x>0, ELU(x)=x ● For x≤0, ELU(x)=α(e^x−1), where α - constant
Teams in DS. Roles
● Data scientist - Prove hypotheses - Data wrangling ● PM
Inference Mode
● Определение: использование обученной модели. ● Особенности: - Модель Не Обновляется
Transformers
are a deep learning architecture for sequences.
What are the core ideas?
● to train deep feature hierarchies ● to regularise
"""


@pytest.fixture
def card_seed(tmp_path: Path) -> Path:
    path = tmp_path / "cards.txt"
    path.write_text(CARDS, encoding="utf-8")
    return path


def test_flashcards_keep_every_prompt_verbatim(card_seed: Path) -> None:
    (deck,) = import_flashcards(card_seed, deck_id="oral", title="Oral")
    assert deck.deck.id == "oral"
    assert deck.deck.title == "Oral"
    assert deck.deck.source.name == "Oral Exam"
    assert [q.question for q in deck.questions] == [
        "ELU",
        "Teams in DS. Roles",
        "Inference Mode",
        "Transformers",
        "What are the core ideas?",
    ]


def test_bullets_and_sub_items_become_nested_lists() -> None:
    answer = card_markdown("Teams in DS. Roles", CARDS.splitlines()[4])
    assert answer == ("- Data scientist\n  - Prove hypotheses\n  - Data wrangling\n- PM")


def test_lowercase_dash_is_not_a_sub_item_and_term_is_restored() -> None:
    answer = card_markdown("ELU", CARDS.splitlines()[2])
    assert answer.splitlines() == [
        "- **ELU** (Exponential Linear Unit)",
        "- For x>0, ELU(x)=x",
        "- For x≤0, ELU(x)=α(e^x−1), where α - constant",
    ]
    assert card_markdown("Transformers", "are an architecture.") == (
        "**Transformers** are an architecture."
    )
    # A real question is not glued in front of its answer.
    assert card_markdown("What are the core ideas?", "● to train ● to regularise") == (
        "- to train\n- to regularise"
    )


def test_russian_text_is_kept(card_seed: Path) -> None:
    (deck,) = import_flashcards(card_seed)
    answer = deck.questions[2].answer
    assert "Определение: использование обученной модели." in answer
    assert "  - Модель Не Обновляется" in answer
    assert "Определение" in dump_deck(deck)  # allow_unicode: no \u escapes


def test_flashcards_need_prompt_answer_pairs() -> None:
    with pytest.raises(ValueError, match="pairs"):
        parse_cards("Title\nPrompt only\n")


# ---------------------------------------------------------------------------
# Ids and tags
# ---------------------------------------------------------------------------


def test_ids_are_slugs_deduplicated_bank_wide() -> None:
    taken: set[str] = set()
    assert allocate_id("What is X?", taken) == "what-is-x"
    assert allocate_id("What is x", taken) == "what-is-x-2"
    assert allocate_id("what IS x!", taken) == "what-is-x-3"
    assert taken == {"what-is-x", "what-is-x-2", "what-is-x-3"}


def test_importers_share_taken_ids(card_seed: Path, tmp_path: Path) -> None:
    other = tmp_path / "more.txt"
    other.write_text("More\nELU\nAnother answer.\n", encoding="utf-8")
    taken: set[str] = set()
    first = import_flashcards(card_seed, taken_ids=taken)[0]
    second = import_flashcards(other, deck_id="more", taken_ids=taken)[0]
    assert first.questions[0].id == "elu"
    assert second.questions[0].id == "elu-2"
    again: set[str] = set()
    assert import_flashcards(card_seed, taken_ids=again) == [first]


def test_tags_come_from_the_keyword_table() -> None:
    tags = assign_tags("What is self-attention in transformers?", "Queries and keys.", fallback="x")
    assert tags[:2] == ("transformers", "attention")
    assert 1 <= len(assign_tags("Why?", "Because.", fallback="misc")) <= 4
    assert assign_tags("Why?", "Because.", fallback="misc") == ("misc",)


# ---------------------------------------------------------------------------
# Markdown escaping
# ---------------------------------------------------------------------------

_MD = MarkdownIt("commonmark", {"html": False}).enable(["strikethrough", "table"])


def _rendered_text(markdown: str) -> str:
    rendered = _MD.render(markdown)
    return html.unescape(re.sub(r"<[^>]+>", "", rendered)).strip()


@pytest.mark.parametrize(
    "text",
    [
        "a*b and c*d",
        "*not emphasis*",
        "__init__ and _private_ and snake_case_name",
        "# not a heading",
        "1. not a list",
        "2) not a list either",
        "- not a bullet",
        "+ not a bullet",
        "> not a quote",
        "---",
        "[text](http://example.com) is not a link",
        "![img](x.png)",
        "`not code`",
        "~~not struck~~",
        "costs $5 and $6",
        "&amp; stays literal",
        "<b>not bold</b>",
        "back\\slash and users.\\",
        "x < y > z",
        "Mean < 60, Mode > 60",
        "Hash(7) = 2 - Hash(15) = 1",
    ],
)
def test_escaped_text_renders_as_written(text: str) -> None:
    assert _rendered_text(inline(text, detect_code=False)) == text


def test_escaping_is_minimal() -> None:
    plain = "Left-skewed data: x_i, 1/6 * 1/6 and [1,5,9,0] are fine"
    assert inline(plain, detect_code=False) == plain


def test_tex_and_code_are_not_escaped() -> None:
    assert inline("loss \\(a*b_c\\) and \\[x_1^*\\]") == "loss \\(a*b_c\\) and \\[x_1^*\\]"
    assert inline("layer $l+t_1$ here") == "layer \\(l+t_1\\) here"
    assert inline(["call ", Code("a*b_c"), " now"]) == "call `a*b_c` now"
    assert inline("use torch.no_grad() and nn.Embedding") == (
        "use `torch.no_grad()` and `nn.Embedding`"
    )


# ---------------------------------------------------------------------------
# YAML writer
# ---------------------------------------------------------------------------


def _deck(answer: str, notes: str | None = "one\ntwo") -> DeckFile:
    return DeckFile(
        deck=DeckHeader(
            id="d",
            title="Deck",
            description="A deck.",
            source=Source(name="Src", url="https://example.com", attribution="Someone"),
            notes=notes,
        ),
        questions=(
            Question(id="q", question="Q: what? #1", answer=answer, tags=("a", "b")),
            Question(id="r", question="R", answer="x", difficulty="hard"),
        ),
    )


@pytest.mark.parametrize(
    "answer",
    [
        "- a\n  - b\n\n```python\nx = 1\n```",
        "trailing spaces   \nsecond",
        "\ttab first",
        "  leading spaces\nthen not",
        "ends with newlines\n\n",
        "\n\nstarts with newlines",
        "crlf\r\nline",
        "unicode — ρ Определение\u2028separator",
        "# looks like a comment\n--- and a document marker\n...",
        "key: value\n- item",
        "'quoted' \"double\"",
        "nel\x85char",
        "yes",
    ],
)
def test_yaml_round_trip_is_exact(answer: str) -> None:
    deck = _deck(answer)
    text = dump_deck(deck)
    assert DeckFile.model_validate(yaml.safe_load(text)) == deck


def test_yaml_layout_is_diff_friendly() -> None:
    text = dump_deck(_deck("line one\nline two"))
    assert text.splitlines()[:12] == [
        "deck:",
        "  id: d",
        "  title: Deck",
        "  description: A deck.",
        "  source:",
        "    name: Src",
        "    url: https://example.com",
        "    attribution: Someone",
        "  notes: |-",
        "    one",
        "    two",
        "questions:",
    ]
    assert "    answer: |-\n      line one\n      line two\n" in text
    assert "    difficulty: hard\n" in text
    long_line = "word " * 100
    assert long_line.strip() in dump_deck(_deck(long_line.strip()))


def test_write_decks_names_files_by_deck_id(tmp_path: Path) -> None:
    paths = write_decks([_deck("x")], tmp_path / "out")
    assert paths == [tmp_path / "out" / "d.yaml"]
    assert paths[0].read_text(encoding="utf-8") == dump_deck(_deck("x"))


def test_the_command_refuses_a_missing_seed_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tools.seed_importers.__main__ import main

    assert main(["aman", str(tmp_path / "missing.txt"), str(tmp_path / "out")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
