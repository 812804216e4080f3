"""Import a flashcard seed: a title line, then prompt and answer lines in turns.

The "PMLDL oral" seed was exported from a flashcard app: each answer sits on
one line, ``●`` starts a bullet item and `` - `` usually starts a sub-item
(the list nesting was flattened into the line). This importer rebuilds the
lists as Markdown, keeps every card (Russian text included) and keeps each
prompt verbatim as the question, since users know the cards by those
prompts. When a prompt is a bare term ("Transformers") and its answer just
continues the sentence ("are a deep learning architecture ..."), the term is
put back in bold at the start so the answer reads on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from bot.domain.content import DeckFile, DeckHeader, Question, Source, slugify
from tools.seed_importers import allocate_id, assign_tags
from tools.seed_importers.markdown_escape import inline

__all__ = ["answer_markdown", "import_flashcards", "parse_cards"]

_BULLET = "●"
# " - " (or " -") followed by a capital letter, Latin or Cyrillic, starts a sub-item.
_SUB_ITEM = re.compile(r"\s+-\s*(?=[A-ZА-ЯЁ])")
_CONTINUES_PROMPT = re.compile(r"^[a-z(]")
# Only a bare term ("ELU", "Batch normalization") can be continued by its answer.
_MAX_TERM_WORDS = 6
_FALLBACK_TAG = "deep-learning"
_DESCRIPTIONS = {
    "pmldl-oral": (
        "Flashcards for an oral exam in Practical Machine Learning and Deep Learning "
        "(PMLDL): key terms, PyTorch details, training tricks, NLP models and MLOps."
    ),
}


def parse_cards(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The title and the (prompt, answer) pairs of a flashcard seed."""
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise ValueError("the flashcard seed is empty")
    title, body = lines[0].strip(), lines[1:]
    if len(body) % 2:
        raise ValueError(f"expected prompt/answer pairs after the title, got {len(body)} lines")
    pairs = [(body[i].strip(), body[i + 1].strip()) for i in range(0, len(body), 2)]
    for number, (prompt, answer) in enumerate(pairs, start=1):
        if not prompt or not answer:
            raise ValueError(f"card {number} has an empty prompt or answer")
    return title, pairs


def _is_term(prompt: str) -> bool:
    return len(prompt.split()) <= _MAX_TERM_WORDS and not re.search(r"[?.!:]$", prompt)


def _with_term(term: str, text: str) -> str:
    """``text`` as Markdown, with the card's term in bold first if the text continues it."""
    if _is_term(term) and _CONTINUES_PROMPT.match(text):
        return f"**{inline(term)}** {inline(text)}"
    return inline(text)


def _item_lines(item: str, *, term: str | None) -> Iterator[str]:
    main, *subs = (part.strip() for part in _SUB_ITEM.split(item))
    text = _with_term(term, main) if term else inline(main)
    yield f"- {text}"
    for sub in subs:
        if sub:
            yield f"  - {inline(sub)}"


def answer_markdown(prompt: str, answer: str) -> str:
    """One card's answer line as Markdown: a lead paragraph and (nested) bullet lists."""
    lead, *items = (part.strip() for part in answer.split(_BULLET))
    blocks: list[str] = []
    if lead:
        blocks.append(_with_term(prompt, lead))
    lines: list[str] = []
    for index, item in enumerate(part for part in items if part):
        term = prompt if index == 0 and not lead else None
        lines.extend(_item_lines(item, term=term))
    if lines:
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def import_flashcards(
    seed: Path,
    *,
    deck_id: str = "pmldl-oral",
    title: str | None = None,
    taken_ids: set[str] | None = None,
) -> list[DeckFile]:
    """One deck with every card of ``seed``; ids are added to ``taken_ids`` (bank-wide)."""
    seed_title, pairs = parse_cards(seed.read_text(encoding="utf-8"))
    taken = taken_ids if taken_ids is not None else set()
    questions = []
    for prompt, raw_answer in pairs:
        answer = answer_markdown(prompt, raw_answer)
        questions.append(
            Question(
                id=allocate_id(prompt, taken),
                question=prompt,
                answer=answer,
                tags=assign_tags(prompt, raw_answer, fallback=_FALLBACK_TAG),
            )
        )
    header = DeckHeader(
        id=slugify(deck_id),
        title=title or seed_title,
        description=_DESCRIPTIONS.get(deck_id, f"Flashcards from “{seed_title}”."),
        source=Source(
            name=seed_title,
            url=None,
            attribution=(
                f"“{seed_title}” flashcard set (Practical Machine Learning and Deep Learning "
                "oral exam); author not named in the source. Imported verbatim, some answers "
                "are partly in Russian."
            ),
        ),
        notes=None,
    )
    return [DeckFile(deck=header, questions=tuple(questions))]
