"""Import "Aman's AI Journal • Interview Questions" (a flattened web page) into decks.

The seed is the page's text with all structure flattened to lines: the title,
a table of contents (``- `` entries, nesting lost), then the body where each
TOC entry reappears verbatim as a heading line followed by its answer. The
page's sections ("Deep Learning", "NLP", ...) become decks. The hard part is
telling apart what the flattening merged:

* TOC entries that were sub-headings of an answer (a run of Title Case
  headings such as "Single-Feature Testing" after a sentence-case question)
  are folded into the parent's answer as bold sub-headings;
* questions the TOC forgot are found in the body (a stand-alone line ending
  in "?" followed by answer bullets); those repeating a part of the current
  question ("Why is Flash Attention Needed?") are sub-headings instead;
* the answer text itself (bare ``-`` bullets, inline code split onto lines,
  code listings without indentation, list lines repeated after a nested
  list) is rebuilt into the bank's Markdown subset by :func:`answer_markdown`.

Every heading that does not become a question of its own is listed, with the
reason, in the deck's ``notes`` so nothing disappears silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.domain.content import DeckFile, DeckHeader, Question, Source, slugify
from tools.seed_importers import allocate_id, assign_tags, unique_in_order
from tools.seed_importers.markdown_escape import Code, Piece, fenced_block, inline

__all__ = [
    "FORMULA_FIXES",
    "SECTIONS",
    "FormulaFix",
    "answer_markdown",
    "fix_formulas",
    "import_aman",
    "looks_like_code",
    "parse_page",
]

SECTIONS: tuple[str, ...] = ("Deep Learning", "NLP", "Machine Learning", "Misc")
TRAILING: tuple[str, ...] = ("References", "Citation")
SOURCE_URL = "https://aman.ai/primers/ai/interview/"
ATTRIBUTION = (
    "Aman Chadha, “Interview Questions”, Distilled AI (aman.ai), 2020. "
    "Answers adapted from the page, which credits further authors inline."
)

# Headings that are topics rather than questions, and how they are asked instead.
REPHRASED: dict[str, str] = {
    "Popular machine learning models: Pros and Cons": (
        "What are the pros and cons of popular machine learning models?"
    ),
    "Small file and big file problem in big data": (
        "What are the small file and big file problems in big data?"
    ),
    "Order of execution of an SQL Query in Detail": (
        "In which order are the clauses of an SQL query executed?"
    ),
    "Dimensionality reduction techniques": "What are common dimensionality reduction techniques?",
    "Active learning": "What is active learning?",
    "Gradient descent: Local Minimum vs. Global Minimum": (
        "Does gradient descent find a local or a global minimum?"
    ),
    "Pitfalls in Spark data engineering that can hurt your data lake performance": (
        "What are common pitfalls in Spark data engineering that hurt data lake performance?"
    ),
}


@dataclass(frozen=True)
class FormulaFix:
    """A formula the page's flattening (or its authors) left wrong, and its correction.

    ``broken`` is the text as the answer Markdown has it, ``right`` its
    replacement; ``note`` says what changed and why, for the deck's notes.
    """

    broken: str
    right: str
    why: str
    shown: str = ""  # what the note calls the fix, when ``broken`` holds more than a formula

    @property
    def note(self) -> str:
        return f"{self.shown or f'{self.broken} as {self.right}'} ({self.why})"


# `content check` finds these (issue 17); each applied fix is listed in the deck's notes.
FORMULA_FIXES: tuple[FormulaFix, ...] = (
    FormulaFix(
        r"\[p(x) =p^x * q^(1-x), x=[0,1]\]",
        r"\[p(x) = p^x q^{1-x}, \quad x \in \{0, 1\}\]",
        "q^(1-x) raised only the “(”, and x=[0,1] meant the set {0, 1}",
    ),
    FormulaFix(
        r"\[p(x) = nCx p^x q^(n-x) x=[0,1,2...n]\]",
        r"\[p(x) = \binom{n}{x} p^x q^{n-x}, \quad x \in \{0, 1, 2, \ldots, n\}\]",
        "the calculator's nCx read as the product n·C·x, and q^(n-x) raised only the “(”",
    ),
    FormulaFix(
        r"The sample space is 365^30 and the number of events is \(365_p_30\)",
        r"The sample space is \(365^{30}\) and the number of events is \({}^{365}P_{30}\)",
        "365_p_30 has two subscripts and does not parse",
        shown=r"\(365_p_30\) as \({}^{365}P_{30}\) and 365^30 as \(365^{30}\)",
    ),
    FormulaFix(
        r"therefore the Prob = \(365_p_30\) / 365^30 = 0.2936",
        r"therefore the probability is \({}^{365}P_{30} / 365^{30} \approx 0.2937\)",
        "the same permutations; the ratio is 0.29368",
        shown=(
            r"Prob = \(365_p_30\) / 365^30 = 0.2936 as "
            r"\({}^{365}P_{30} / 365^{30} \approx 0.2937\)"
        ),
    ),
    FormulaFix(
        r"\(f(x) = 1/(1+exp(-x))\)",
        r"\(f(x) = 1/(1+\exp(-x))\)",
        "exp written as letters renders as the italic product e·x·p",
    ),
    FormulaFix(r"\(f(x) = max(0,x)\)", r"\(f(x) = \max(0, x)\)", "max written as letters"),
    FormulaFix(r"\((x-y)/max(x,y)\)", r"\((x-y)/\max(x, y)\)", "max written as letters"),
    FormulaFix(r"\(t >= 2\)", r"\(t \geq 2\)", ">= renders as two symbols"),
    FormulaFix(r"\(0 < \epsilon « 1\)", r"\(0 < \epsilon \ll 1\)", "« is a quotation mark"),
    FormulaFix(r"\(l+t−1\)", r"\(l+t-1\)", "a Unicode minus sign instead of TeX's -"),
    FormulaFix(r"\(y=\) 1", r"\(y=1\)", "the 1 had fallen out of the formula"),
    FormulaFix(
        r"\[P(y x)\]",
        r"\(P(y \mid x)\)",
        "the “|” of the conditional probability was lost; inline, as in its sentence",
    ),
)

_DECKS: dict[str, tuple[str, str]] = {
    "Deep Learning": (
        "Deep Learning",
        "The broad core of ML interviews: neural networks and transformers, optimization, "
        "regularization, statistics and probability puzzles, classic models, SQL and "
        "Python warm-ups.",
    ),
    "NLP": (
        "NLP",
        "NLP interview questions: embeddings, attention and transformers, classic NLP "
        "tasks (NER, parsing, summarization) and tokenizer details.",
    ),
    "Machine Learning": (
        "Machine Learning",
        "Short classic-ML questions: the dummy variable trap, entropy and why logistic "
        "regression is a linear classifier.",
    ),
    "Misc": (
        "Misc",
        "A mixed bag for senior interviews: data engineering, distributed systems, LLM "
        "serving and sampling, retrieval, gradient-boosted trees and experiment design.",
    ),
}

# Imperative openings that make a heading a question even without "?".
_IMPERATIVE_START = re.compile(
    r"^(?:explain|describe|define|list|mention|compare|briefly|please|imagine|given|name"
    r"|write|give|discuss|state)\b",
    re.IGNORECASE,
)
_STOPWORDS = frozenset(
    {
        *("a", "an", "and", "are", "be", "can", "do", "does", "for", "how", "in", "is", "it"),
        *("of", "on", "or", "the", "to", "what", "when", "where", "which", "why", "with"),
        *("you", "your"),
    }
)
_MIN_SUBHEADING_RUN = 2


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside an answer (from the TOC or found in the body)."""

    text: str
    from_toc: bool = True


RawLine = str | Heading


@dataclass
class _Draft:
    section: str
    heading: str  # as in the seed
    question: str  # as it goes into the bank
    lines: list[RawLine] = field(default_factory=list)


@dataclass
class Page:
    """The seed split into question drafts per section, plus what was dropped or merged."""

    title: str
    sections: list[str]
    drafts: list[_Draft]
    notes: dict[str, list[str]]


# ---------------------------------------------------------------------------
# Table of contents and question headings
# ---------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9]+", text.lower())


def _is_question_like(text: str) -> bool:
    """Asked ("...?") or an instruction ("Explain ..."); "Why This Matters" is neither."""
    return "?" in text or bool(_IMPERATIVE_START.match(text))


def _is_title_case(text: str) -> bool:
    """Most longer words capitalised ("Feature Selection Based on Stability Scores")."""
    words: list[str] = re.findall(r"[A-Za-z][A-Za-z'’-]*", text)[1:]
    long_words = [word for word in words if len(word) >= 4 and not word.isupper()]
    if not long_words:
        return False
    capitalised = sum(word[0].isupper() for word in long_words)
    return capitalised / len(long_words) >= 0.75


def _subheading_parents(entries: Sequence[str], skip: set[int]) -> dict[int, int]:
    """TOC index -> index of the question it is a sub-heading of.

    A sub-heading run is two or more consecutive Title Case entries right
    after a sentence-case entry, up to the last one that is not phrased as a
    question. Runs of Title Case *questions* are common on this page ("How
    Does Backpropagation Work in a Neural Network?") and stay questions.
    """
    parents: dict[int, int] = {}
    index = 0
    while index < len(entries):
        if index in skip or not _is_title_case(entries[index]) or index == 0:
            index += 1
            continue
        start = index
        while index < len(entries) and index not in skip and _is_title_case(entries[index]):
            index += 1
        end = index
        while end > start and _is_question_like(entries[end - 1]):
            end -= 1  # a run ends with its last heading that is not a question
        run = range(start, end)
        parent = start - 1
        if (
            len(run) >= _MIN_SUBHEADING_RUN
            and parent not in skip
            and not _is_title_case(entries[parent])
        ):
            parents.update(dict.fromkeys(run, parent))
    return parents


def _split_page(text: str) -> tuple[str, list[str], list[str]]:
    lines = [line.rstrip() for line in text.splitlines()]
    if len(lines) < 2:
        raise ValueError("the seed has no table of contents")
    end = 1
    while end < len(lines) and lines[end].startswith("- "):
        end += 1
    return lines[0].strip(), [line[2:].strip() for line in lines[1:end]], lines[end:]


def _locate(entries: Sequence[str], body: Sequence[str]) -> list[int]:
    """Body line index of each TOC entry, matched in order (so duplicates pair up)."""
    positions: list[int] = []
    cursor = 0
    for entry in entries:
        try:
            found = body.index(entry, cursor)
        except ValueError:
            raise ValueError(f"TOC entry not found as a body heading: {entry!r}") from None
        positions.append(found)
        cursor = found + 1
    return positions


def _is_body_question(lines: Sequence[str], index: int) -> bool:
    """A stand-alone question line in the body that starts a new answer."""
    line = lines[index]
    if line.startswith("-") or not line.endswith("?") or len(line.split()) < 3:
        return False
    if line.startswith(("Q:", "A:")):
        return False
    previous = lines[index - 1] if index > 0 else ""
    following = lines[index + 1] if index + 1 < len(lines) else ""
    return previous != "-" and following.startswith("-")


def _is_part_of(candidate: str, question: str) -> bool:
    """Whether ``candidate`` only restates part of ``question`` (then it is a sub-heading)."""
    own = {word for word in _words(candidate) if word not in _STOPWORDS}
    return bool(own) and own <= set(_words(question))


@dataclass
class _MergeNote:
    """The TOC sub-headings folded into one parent's answer (one note per parent)."""

    parent: str
    names: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        names = ", ".join(f"“{name}”" for name in self.names)
        return (
            f"Merged the table-of-contents headings {names} into the answer of "
            f"“{self.parent}” as bold sub-headings: they are parts of that answer, not questions."
        )


@dataclass
class _Walker:
    """Walks the body once, turning headings into drafts and lines into their answers."""

    sections: Sequence[str]
    trailing: Sequence[str]
    rephrase: dict[str, str]
    notes: dict[str, list[str | _MergeNote]]
    drafts: list[_Draft] = field(default_factory=list)
    section: str | None = None
    current: _Draft | None = None
    dropping: bool = False
    merges: dict[str, _MergeNote] = field(default_factory=dict)

    def note(self, text: str | _MergeNote) -> None:
        """Record a note for the current section (notes explain every merge and drop)."""
        if self.section is not None:
            self.notes[self.section].append(text)

    def _start(self, heading: str, question: str) -> None:
        if self.section is None:
            raise ValueError(f"question before the first section: {heading!r}")
        self.current, self.dropping = _Draft(self.section, heading, question), False
        self.drafts.append(self.current)

    def entry(self, entry: str, *, subheading: bool) -> None:
        """A TOC heading met in the body (sections and trailing parts are handled first)."""
        if entry in self.sections:
            self.section, self.current, self.dropping = entry, None, False
            return
        if self.section is None:
            raise ValueError(f"question before the first section: {entry!r}")
        if subheading and self.current is not None:
            self.current.lines.append(Heading(entry))
            parent = self.current.heading
            if parent not in self.merges:
                self.merges[parent] = _MergeNote(parent)
                self.note(self.merges[parent])
            self.merges[parent].names.append(entry)
            return
        if not _is_question_like(entry) and entry not in self.rephrase:
            self.note(
                f"Dropped “{entry}” and its text: a remark, not an interview question, "
                "and it cannot be honestly phrased as one."
            )
            self.current, self.dropping = None, True
            return
        question = self.rephrase.get(entry, entry)
        if question != entry:
            self.note(f"Rephrased the topic heading “{entry}” as “{question}”.")
        self._start(entry, question)

    def body_question(self, line: str) -> None:
        """A stand-alone question line that the TOC does not list."""
        current = self.current
        if line.startswith("Related:"):
            asked = line.removeprefix("Related:").strip()
            inside = current.heading if current else "?"
            self.note(
                f"“{line}” (inside the answer of “{inside}”) became a question of its own: "
                f"“{asked}”."
            )
            self._start(line, asked)
        elif current is not None and _is_part_of(line, current.question):
            current.lines.append(Heading(line, from_toc=False))
            self.note(
                f"Kept “{line}” as a sub-heading inside “{current.heading}”: it restates "
                "part of that question."
            )
        else:
            self.note(
                f"Added “{line}”: a question in the page body that its table of contents "
                "does not list."
            )
            self._start(line, line)

    def text(self, line: str) -> None:
        if self.dropping or self.section is None:
            return
        if self.current is None:
            if line.strip():
                raise ValueError(f"text outside any question: {line!r}")
            return
        self.current.lines.append(line)


def parse_page(
    text: str,
    *,
    sections: Sequence[str] = SECTIONS,
    trailing: Sequence[str] = TRAILING,
    rephrased: dict[str, str] | None = None,
) -> Page:
    """Split the page into question drafts per section; record merges and drops in notes."""
    title, entries, body = _split_page(text)
    entry_at = {position: i for i, position in enumerate(_locate(entries, body))}
    skip = {i for i, entry in enumerate(entries) if entry in sections or entry in trailing}
    parents = _subheading_parents(entries, skip)
    walker = _Walker(
        sections,
        trailing,
        REPHRASED if rephrased is None else rephrased,
        {section: [] for section in sections},
    )
    for index, line in enumerate(body):
        number = entry_at.get(index)
        if number is not None and entries[number] in trailing:
            names = " and ".join(f"“{e}”" for e in entries[number:] if e in trailing)
            walker.note(
                f"Dropped the page's trailing {names} (reading links and the citation block); "
                "the attribution is kept in this deck's source."
            )
            break
        if number is not None:
            walker.entry(entries[number], subheading=number in parents)
        elif not walker.dropping and walker.section and _is_body_question(body, index):
            walker.body_question(line)
        else:
            walker.text(line)
    notes = {section: [str(note) for note in lines] for section, lines in walker.notes.items()}
    return Page(title, [s for s in sections if s in entries], walker.drafts, notes)


# ---------------------------------------------------------------------------
# Answer text -> Markdown
# ---------------------------------------------------------------------------

_PY_START = re.compile(
    r"^(?:def |class |import |from \S+ import |return\b|for \S.* in .+:|while .+:|if .+:"
    r"|elif .+:|else:|try:|except\b.*:|with .+:|print\(|raise |yield |lambda |assert "
    r"|pass$|break$|continue$)"
)
_SQL_START = re.compile(
    r"^(?:SELECT|FROM|(?:LEFT |RIGHT |INNER |OUTER |FULL )?JOIN|ON|WHERE|GROUP BY|HAVING"
    r"|ORDER BY|LIMIT|INSERT INTO|UPDATE|DELETE FROM|CREATE|UNION)\b"
)
_ASSIGN = re.compile(
    r"^[A-Za-z_][\w.]*(?:\[[^\]]*\])?(?:\s*,\s*[A-Za-z_][\w.]*)*\s*(?:[-+*/]?=)(?!=)\s*\S"
)
_CALL = re.compile(
    r"^[A-Za-z_][\w.]*\(.*\)(?:\.[A-Za-z_]\w*\(.*\))*\s*;?\s*(?:[%#].*)?$"
    r"|^[A-Za-z_][\w.]*\(.*\)\s*[-+*/%&|]\s*[A-Za-z_][\w.]*\(.*\)$"
)
_SUBSCRIPT = re.compile(r"^[A-Za-z_]\w*\[[^\]]+\]$")
_CLOSER = re.compile(r"^[\])}]+[,;]?$")
_COMMENT = re.compile(r"^#(?!#)\s?\S")
_C_LIKE = re.compile(r"^(?:void|int|float|double|char|static|public|private)\s+\w+.*[;{}]$")
_JSON = re.compile(r"^\{\s*\".*\"\s*:.*\}$")
_LANGUAGES = {"plaintext": "text", "py": "python"}

_TERMINAL = ".!?:;"
_TOKEN_CODE_CHARS = re.compile(r"[()\[\]{}\"'=%_]")
_GLUE_PUNCT = re.compile(r"^(.*[,;)\]])(\S+)$")
# Words the copy glued to a following code span ("andb", "usingMAP_SHARED"), longest first.
_GLUE_WORDS = sorted(
    (
        *("and", "or", "a", "an", "the", "using", "use", "adding", "values", "ID"),
        *("where", "is", "of", "to", "in", "as", "with", "by", "for"),
    ),
    key=len,
    reverse=True,
)
_GLUE_POSSESSIVE = re.compile(r"^(.+[’']s)(\S+)$")
_MID_LINE_BULLET = re.compile(r"(?:(?<=[.:;!?])|(?<=\\\]))\s*-\s+(?=\S)")
_MID_LINE_BULLET_JOINED = re.compile(r"(?:(?<=[.:;!?)])|(?<=\\\]))\s*-\s+(?=\S)")
_TRAILING_DASH = re.compile(r"\s*-$")
_MD_HEADING = re.compile(r"^#{2,6}\s+(.+)$")
_MD_BOLD_LINE = re.compile(r"^\*\*(.+?)\*\*$")
_MAX_HEADING_WORDS = 10
_MAX_TOKEN_CHARS = 40
_MAX_TOKEN_WORDS = 5
_MAX_DEPTH = 2
_LONG_REPEAT = 50  # a repeated sentence this long is never a genuine second item
_CHILD_WIDTH = 100  # an item over 3x its siblings' width (or this) leaves the lead-in
_WIDTH_FACTOR = 3
_FENCE_SEARCH = 15


def looks_like_code(line: str) -> bool:
    """Whether a flattened line is a line of code (Python, SQL, C, JSON or MATLAB-ish).

    Indentation was lost in the copy, so this goes by how a line starts and
    its shape: statements (``def``, ``for x in y:``, ``return``), assignments
    with an identifier on the left, bare calls, subscripts, lone closing
    brackets, ``#`` comments and upper-case SQL clauses.
    """
    text = line.strip()
    if not text or text.startswith(("\\(", "\\[")):
        return False
    return any(
        pattern.match(text)
        for pattern in (
            _PY_START,
            _SQL_START,
            _ASSIGN,
            _CALL,
            _SUBSCRIPT,
            _CLOSER,
            _COMMENT,
            _C_LIKE,
            _JSON,
        )
    )


def _code_language(lines: Sequence[str]) -> str:
    if any(_SQL_START.match(line) for line in lines):
        return "sql"
    if any(_C_LIKE.match(line) for line in lines):
        return "c"
    if all(_JSON.match(line) for line in lines):
        return "json"
    if any(re.search(r";\s*%", line) or "(1:" in line for line in lines):
        return "matlab"
    return "python"


def _is_title_like(text: str) -> bool:
    """A short heading line ("Pros", "Overview", "Why This Matters") rather than prose."""
    words = text.split()
    return (
        0 < len(words) <= _MAX_HEADING_WORDS
        and text[-1] not in ".,;:!"
        and (text[0].isupper() or text[0].isdigit() or bool(re.match(r"^[a-z]-\w", text)))
        and not text.startswith(("Q:", "A:"))
        and not looks_like_code(text)
    )


def _is_token(text: str) -> bool:
    """A short line that was an inline ``code`` span split off its sentence."""
    words = text.split()
    if not words or len(text) > _MAX_TOKEN_CHARS or len(words) > _MAX_TOKEN_WORDS:
        return False
    if text[0] in ",.;:)":
        return False
    return len(words) == 1 or bool(_TOKEN_CODE_CHARS.search(text))


def _is_continuation(text: str) -> bool:
    """A line that continues the sentence an inline code span interrupted."""
    if not text or looks_like_code(text):
        return False
    return text[0].islower() or text[0] in ",.;:()]–" or (text[0] == "-" and text[1:2] != " ")


def _unglue(text: str, seen: Iterable[str] = ()) -> list[Piece]:
    """Split the code span glued to the last word of a line ("and5.6" -> "and", `5.6`).

    When several splits are possible ("aseed": "a" + ``seed`` or "as" +
    ``eed``) one that yields a code token already seen in the item wins.
    """
    head, _, last = text.rpartition(" ")
    splits: list[tuple[str, str]] = []
    for pattern in (_GLUE_PUNCT, _GLUE_POSSESSIVE):
        match = pattern.match(last)
        if match:
            splits.append((match.group(1), match.group(2)))
    splits += [
        (word, last[len(word) :])
        for word in _GLUE_WORDS
        if last.startswith(word) and len(last) > len(word)
    ]
    if not splits:
        return [text]
    known = set(seen)
    prefix, token = next((s for s in splits if s[1] in known), splits[0])
    return [f"{head} {prefix}" if head else prefix, Code(token)]


@dataclass
class _Item:
    kind: str  # bullet | text | head | code
    pieces: list[Piece] = field(default_factory=list)
    head_text: str = ""  # a bullet's own first line, to recognise its repeats
    code: list[str] = field(default_factory=list)
    language: str = ""
    joined: bool = False  # absorbed split-off inline code
    child: bool = False  # a sub-item split out of the previous item's line
    from_toc: bool = False

    @property
    def text(self) -> str:
        return _plain(self.pieces)


def _plain(pieces: Sequence[Piece]) -> str:
    return "".join(p.text if isinstance(p, Code) else p for p in pieces).strip()


def _tokenize(lines: Sequence[RawLine]) -> list[_Item]:
    items: list[_Item] = []
    for line in lines:
        if isinstance(line, Heading):
            items.append(_Item("head", [line.text], from_toc=line.from_toc))
        elif line.strip() == "-":
            items.append(_Item("bare"))
        elif line.startswith("- "):
            text = re.sub(r"^(?:-\s+)+", "", line[2:].strip())  # "- - x": a doubled marker
            items.append(_Item("bullet", [text], head_text=text))
        elif line.strip():
            items.append(_Item("text", [line.strip()]))
    return items


def _raw(item: _Item) -> str:
    return f"- {item.text}" if item.kind == "bullet" else item.text


def _source_fences(items: list[_Item]) -> list[_Item]:
    """Code the page itself fenced with ``` (often without closing it)."""
    out: list[_Item] = []
    index = 0
    while index < len(items):
        item = items[index]
        if item.kind != "text" or not item.text.startswith("```"):
            out.append(item)
            index += 1
            continue
        language = _LANGUAGES.get(item.text[3:].strip(), item.text[3:].strip())
        rest = items[index + 1 :]
        closing = next(
            (i for i, it in enumerate(rest[:_FENCE_SEARCH]) if _raw(it).endswith("```")), None
        )
        if closing is not None:
            code = [_raw(it) for it in rest[: closing + 1]]
            code[-1] = code[-1].removesuffix("```").rstrip()
            index += closing + 2
        else:
            taken = 0
            while taken < len(rest) and rest[taken].kind == "text":
                if not looks_like_code(rest[taken].text):
                    break
                taken += 1
            code = [it.text for it in rest[:taken]]
            index += taken + 1
        code = [line for line in code if line]
        if code:
            out.append(_Item("code", code=code, language=language or _code_language(code)))
    return out


def _markdown_artifacts(items: list[_Item]) -> list[_Item]:
    """Lines that were Markdown in the page ("### 5. Comments", "**Example:**") -> headings."""
    for item in items:
        if item.kind != "text":
            continue
        match = _MD_HEADING.match(item.text) or _MD_BOLD_LINE.match(item.text)
        if match:
            item.kind, item.pieces = "head", [match.group(1).strip()]
    return items


def _bare_dashes(items: list[_Item]) -> list[_Item]:
    """A bullet that lost its text: the next paragraph line is the text (or a heading)."""
    out: list[_Item] = []
    for index, item in enumerate(items):
        if item.kind != "bare":
            out.append(item)
            continue
        following = items[index + 1] if index + 1 < len(items) else None
        if following is None or following.kind != "text" or looks_like_code(following.text):
            continue
        after = items[index + 2] if index + 2 < len(items) else None
        before_list = after is not None and after.kind in ("bare", "bullet")
        if _is_title_like(following.text) and before_list:
            following.kind = "head"
        else:
            following.kind = "bullet"
            following.head_text = following.text
    return out


def _join_text(pieces: list[Piece], addition: Sequence[Piece]) -> None:
    for piece in addition:
        if isinstance(piece, str) and not piece:
            continue
        if pieces:
            text = piece.text if isinstance(piece, Code) else piece
            last = pieces[-1]
            last_text = last.text if isinstance(last, Code) else last
            glue = not (
                isinstance(piece, str)
                and (text[:1] in ",.;:)!?]" or (text[:1] == "-" and text[1:2] != " "))
            ) and not last_text.endswith("(")
            if glue:
                pieces.append(" ")
        pieces.append(piece)


def _join_fragments(items: list[_Item]) -> list[_Item]:
    """Put split-off inline code and the rest of its sentence back on one line."""
    out: list[_Item] = []
    index = 0
    promote = False
    while index < len(items):
        item = items[index]
        if item.kind != "text":
            out.append(item)
            index += 1
            promote = False
            continue
        nxt = items[index + 1] if index + 1 < len(items) else None
        token_start = (
            _is_token(item.text)
            and nxt is not None
            and nxt.kind == "text"
            and _is_continuation(nxt.text)
        )
        prev = out[-1] if out else None
        prev_open = (
            prev is not None
            and prev.kind in ("bullet", "text")
            and not prev.text.endswith(tuple(_TERMINAL))
        )
        if not token_start and not (_is_continuation(item.text) and prev_open):
            if promote and not looks_like_code(item.text):
                item.kind, item.head_text = "bullet", item.text
            out.append(item)
            index += 1
            promote = False
            continue
        if prev is not None and prev.kind in ("bullet", "text") and not promote:
            target = prev
        else:
            target = _Item("bullet" if promote else "text")
            out.append(target)
        index = _absorb(target, items, index)
        target.joined = True
        last = target.pieces[-1] if target.pieces else ""
        promote = isinstance(last, str) and bool(_TRAILING_DASH.search(last))
        if promote and isinstance(last, str):
            target.pieces[-1] = _TRAILING_DASH.sub("", last)
    return out


def _absorb(target: _Item, items: list[_Item], index: int) -> int:
    """Append split-off code tokens and sentence continuations to ``target``.

    After a code token the next line is always the rest of the sentence; two
    continuation lines in a row mean a code span was glued to the end of the
    first one (the copy dropped the space: "values" + ``spring``).
    """
    after_code = False
    while index < len(items) and items[index].kind == "text":
        text = items[index].text
        nxt = items[index + 1] if index + 1 < len(items) else None
        continues = nxt is not None and nxt.kind == "text" and _is_continuation(nxt.text)
        if not after_code and _is_token(text) and continues:
            _join_text(target.pieces, [Code(text)])
            after_code = True
        elif after_code or _is_continuation(text):
            seen = [p.text for p in target.pieces if isinstance(p, Code)]
            addition = _unglue(text, seen) if continues else [text]
            _join_text(target.pieces, addition)
            after_code = isinstance(addition[-1], Code)
        else:
            break
        index += 1
    return index


def _split_mid_line(items: list[_Item]) -> list[_Item]:
    """Bullets the copy ran together on one line (``... done. - Next item``)."""
    out: list[_Item] = []
    for item in items:
        if item.kind not in ("bullet", "text"):
            out.append(item)
            continue
        pattern = _MID_LINE_BULLET_JOINED if item.joined else _MID_LINE_BULLET
        parts: list[list[Piece]] = [[]]
        for piece in item.pieces:
            if isinstance(piece, Code):
                parts[-1].append(piece)
                continue
            chunks = pattern.split(piece)
            parts[-1].append(chunks[0])
            parts.extend([chunk] for chunk in chunks[1:])
        parts = [part for part in parts if _plain(part)]
        if len(parts) <= 1:
            out.append(item)
            continue
        item.pieces = parts[0]
        out.append(item)
        for part in parts[1:]:
            first = part[0] if isinstance(part[0], str) else ""
            out.append(
                _Item(
                    "bullet",
                    part,
                    head_text=first.strip(),
                    joined=item.joined,
                    child=not item.joined and item.kind == "bullet",
                )
            )
    return out


def _code_runs(items: list[_Item]) -> list[_Item]:
    out: list[_Item] = []
    for item in items:
        if item.kind == "text" and not item.joined and looks_like_code(item.text):
            if out and out[-1].kind == "code" and out[-1].language == "":
                out[-1].code.append(item.text)
            else:
                out.append(_Item("code", code=[item.text]))
            continue
        out.append(item)
    for item in out:
        if item.kind == "code" and not item.language:
            item.language = _code_language(item.code)
    return out


def _classify_text(items: list[_Item]) -> list[_Item]:
    for index, item in enumerate(items):
        last = index + 1 == len(items)
        if item.kind == "text" and not item.joined and not last and _is_title_like(item.text):
            item.kind = "head"
    return items


def _heading_levels(items: Sequence[_Item]) -> dict[int, int]:
    """Level 2 for headings that repeat ("Pros", "Cons") or directly follow another heading."""
    heads = [i for i, item in enumerate(items) if item.kind == "head" and not item.from_toc]
    counts: dict[str, int] = {}
    for i in heads:
        counts[items[i].text] = counts.get(items[i].text, 0) + 1
    levels: dict[int, int] = {}
    for i in heads:
        follows_head = i > 0 and items[i - 1].kind == "head" and not items[i - 1].from_toc
        levels[i] = 2 if counts[items[i].text] > 1 or follows_head else 1
    return levels


def _opens_list(previous: _Item | None) -> bool:
    """Whether an item after ``previous`` starts a (nested) list rather than continuing one."""
    if previous is None or previous.kind != "bullet":
        return True
    text = previous.text
    return (
        text.endswith((":", "?")) or _is_title_like(text) or bool(re.match(r"^[^:]{1,40}:\s", text))
    )


@dataclass
class _Emitter:
    """Writes Markdown blocks, rebuilding one level of list nesting.

    The copy lost the nesting; what survives is that a lead-in item ends with
    a colon and that the first line of a nested list is repeated after the
    list's last item. Items after a lead-in are nested under it until the next
    lead-in, such a repeat, or an item far longer than its siblings.
    """

    blocks: list[list[str]] = field(default_factory=list)
    in_list: bool = False
    in_lead: bool = False
    last_depth: int = 0
    last_was_lead: bool = False
    child_width: int = 0
    previous: _Item | None = None
    open_items: list[tuple[_Item, bool]] = field(default_factory=list)

    def _list_line(self, depth: int, text: str) -> None:
        if not self.in_list:
            self.blocks.append([])
            self.in_list = True
        self.blocks[-1].append(f"{'  ' * depth}- {text}")
        self.last_depth = depth

    def _reset(self) -> None:
        self.in_list = self.in_lead = self.last_was_lead = False
        self.open_items = []
        self.previous = None

    def paragraph(self, text: str) -> None:
        self._reset()
        self.blocks.append([text])

    def _is_repeat(self, text: str, *, ends_list: bool) -> bool:
        for position, (earlier, first_of_list) in enumerate(self.open_items):
            same = text in (earlier.head_text, earlier.text)
            if same and (first_of_list or ends_list or len(text) > _LONG_REPEAT):
                del self.open_items[position:]
                return True
        return False

    def bullet(self, item: _Item, *, ends_list: bool = False) -> None:
        text = item.text
        if self._is_repeat(text, ends_list=ends_list):
            # The copy repeats the first line of a nested list after its last item.
            self.in_lead = self.last_was_lead = False
            return
        if item.child:
            depth = min(self.last_depth + 1, _MAX_DEPTH)
        elif text.endswith(":"):
            depth, self.in_lead, self.child_width = 0, True, 0
        elif self.in_lead and (
            not self.child_width or len(text) <= _WIDTH_FACTOR * max(self.child_width, _CHILD_WIDTH)
        ):
            depth = 1
            self.child_width = max(self.child_width, len(text))
        else:
            depth, self.in_lead = 0, False
        self._list_line(depth, inline(item.pieces))
        self.last_was_lead = text.endswith(":") and not item.child
        if not item.child:
            self.open_items.append((item, _opens_list(self.previous)))
        self.previous = item

    def lead(self, text: str) -> None:
        self._list_line(0, f"**{inline(text, line_start=False)}**")
        self.in_lead = self.last_was_lead = True
        self.child_width = 0
        self.open_items = []
        self.previous = None

    def text(self, item: _Item) -> None:
        if self.in_list and self.last_was_lead:
            self._list_line(self.last_depth + 1, inline(item.pieces))
            self.last_was_lead = False
            self.previous = item
            return
        self.paragraph(inline(item.pieces))

    def code(self, item: _Item) -> None:
        if self.in_list:
            indent = 2 * (self.last_depth + 1)
            self.blocks[-1].extend(fenced_block(item.code, item.language, indent=indent))
        else:
            self.blocks.append(fenced_block(item.code, item.language))
            self.in_lead = self.last_was_lead = False

    def markdown(self) -> str:
        return "\n\n".join("\n".join(block) for block in self.blocks if block)


@dataclass(frozen=True)
class Answer:
    """An answer's Markdown and the sub-headings it contains (for the deck notes)."""

    markdown: str
    headings: tuple[tuple[int, str], ...]


def answer_markdown(lines: Sequence[RawLine]) -> Answer:
    """Rebuild one answer's flattened lines as the bank's Markdown subset."""
    items = _tokenize(lines)
    items = _source_fences(items)
    items = _markdown_artifacts(items)
    items = _bare_dashes(items)
    items = _join_fragments(items)
    items = _split_mid_line(items)
    items = _code_runs(items)
    items = _classify_text(items)
    levels = _heading_levels(items)
    emitter = _Emitter()
    headings: list[tuple[int, str]] = []
    for index, item in enumerate(items):
        if item.kind == "bullet":
            following = items[index + 1] if index + 1 < len(items) else None
            ends_list = following is None or following.kind in ("head", "text")
            emitter.bullet(item, ends_list=ends_list)
        elif item.kind == "head":
            level = levels.get(index, 1)
            headings.append((level, item.text))
            if level == 2:
                emitter.lead(item.text)
            else:
                emitter.paragraph(f"**{inline(item.text, line_start=False)}**")
        elif item.kind == "code":
            emitter.code(item)
        elif item.kind == "text":
            emitter.text(item)
    return Answer(emitter.markdown(), tuple(headings))


# ---------------------------------------------------------------------------
# Decks
# ---------------------------------------------------------------------------


def _merge_duplicates(drafts: list[_Draft], notes: dict[str, list[str]]) -> list[_Draft]:
    """One question per question text and section; a repeated one is merged or dropped."""
    kept: dict[tuple[str, str], _Draft] = {}
    out: list[_Draft] = []
    for draft in drafts:
        key = (draft.section, " ".join(_words(draft.question)))
        first = kept.get(key)
        if first is None:
            kept[key] = draft
            out.append(draft)
            continue
        mine = {_norm(line) for line in draft.lines if isinstance(line, str)}
        theirs = {_norm(line) for line in first.lines if isinstance(line, str)}
        if len(mine & theirs) >= 0.7 * max(1, min(len(mine), len(theirs))):
            if len(mine) > len(theirs):
                first.lines = draft.lines
            notes[draft.section].append(
                f"“{draft.heading}” and “{first.heading}” ask the same question with nearly the "
                "same answer: merged into one question that keeps the fuller answer."
            )
        else:
            first.lines = [*first.lines, *draft.lines]
            notes[draft.section].append(
                f"“{draft.heading}” appears twice in the page with different answers; both "
                "answers are merged into one question."
            )
    return out


def _norm(line: str) -> str:
    return " ".join(_words(line))


def _structure_notes(draft: _Draft, answer: Answer) -> list[str]:
    """Body sub-headings worth listing: a two-level outline (model names with Pros/Cons)."""
    if not any(level == 2 for level, _ in answer.headings):
        return []
    names = unique_in_order([text for level, text in answer.headings if level == 1])
    parts = unique_in_order([text for level, text in answer.headings if level == 2])
    listed = "; ".join(names) if names else "(none)"
    return [
        f"Kept the body sub-headings of “{draft.heading}” inside its answer: {listed} as "
        f"bold headings, with {', '.join(parts)} as nested bullet groups."
    ]


def fix_formulas(markdown: str) -> tuple[str, list[FormulaFix]]:
    """``markdown`` with the known broken formulas corrected, and the fixes applied."""
    applied = []
    for fix in FORMULA_FIXES:
        if fix.broken in markdown:
            markdown = markdown.replace(fix.broken, fix.right)
            applied.append(fix)
    return markdown, applied


def _notes_text(lines: Iterable[str]) -> str | None:
    unique = unique_in_order(list(lines))
    if not unique:
        return None
    return "\n".join(f"- {line}" for line in unique)


def import_aman(
    seed: Path,
    *,
    taken_ids: set[str] | None = None,
    sections: Sequence[str] = SECTIONS,
    url: str | None = SOURCE_URL,
) -> list[DeckFile]:
    """One deck per page section; question ids are added to ``taken_ids`` (bank-wide)."""
    page = parse_page(seed.read_text(encoding="utf-8"), sections=sections)
    drafts = _merge_duplicates(page.drafts, page.notes)
    taken = taken_ids if taken_ids is not None else set()
    decks: list[DeckFile] = []
    for section in page.sections:
        deck_id = slugify(section)
        questions: list[Question] = []
        notes = list(page.notes.get(section, []))
        for draft in (d for d in drafts if d.section == section):
            answer = answer_markdown(draft.lines)
            if not answer.markdown.strip():
                notes.append(f"Dropped “{draft.heading}”: the page gives no answer text.")
                continue
            notes.extend(_structure_notes(draft, answer))
            markdown, fixed = fix_formulas(answer.markdown)
            if fixed:
                notes.append(
                    f"Fixed formulas in the answer of “{draft.question}”: "
                    + "; ".join(fix.note for fix in fixed)
                    + "."
                )
            plain_answer = "\n".join(line for line in draft.lines if isinstance(line, str))
            questions.append(
                Question(
                    id=allocate_id(draft.question, taken),
                    question=inline(draft.question, detect_code=False),
                    answer=markdown,
                    tags=assign_tags(draft.question, plain_answer, fallback=deck_id),
                )
            )
        title, description = _DECKS.get(
            section, (section, f"Interview questions from the “{section}” section of {page.title}.")
        )
        header = DeckHeader(
            id=deck_id,
            title=title,
            description=description,
            source=Source(name=page.title, url=url, attribution=ATTRIBUTION),
            notes=_notes_text(notes),
        )
        decks.append(DeckFile(deck=header, questions=tuple(questions)))
    return decks
