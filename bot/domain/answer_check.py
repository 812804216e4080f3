"""The offline answer checker: key points of a model answer, and which a typed answer covers.

A model answer is split into **key points**: its top-level list items (a lone item with
sub-items is opened up into them), or, for an answer without a list, its sentences; at
most :data:`MAX_POINTS`, the most distinctive first. A point is *covered* when the typed
answer contains enough of the point's weighted terms:

- **Terms** are lower-case word tokens, stop words removed (scikit-learn's English list),
  reduced to their Snowball stems, so "regularizes" meets "regularization".
- **Weights** are inverse document frequencies over the whole bank (scikit-learn's
  ``TfidfVectorizer``, one document per question and answer): "dropout" counts for much
  more than "model". Terms of the question itself count for less, so restating the
  question earns little.
- **Typos**: a term not found exactly is looked up with rapidfuzz among the typed terms
  (a similarity of at least :data:`FUZZY_CUTOFF` on words of five letters or more).
- A long point cannot expect every term: it is covered once the matched weight reaches
  :data:`COVER_SHARE` of the weight of its :data:`POINT_TERMS` heaviest terms, or
  :data:`NEEDED_CAP`, whichever is less.

The suggested grade follows the share of points covered (and a soft score so that a single
point is not all or nothing). Deterministic and offline. It cannot see a paraphrase that
shares no terms with the model answer, nor an answer in another language.

Everything heavy (scikit-learn, the bank's statistics) is built once per bank on first use
(:func:`bank_index`), never at import: importing this module costs nothing.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from bot.domain.srs import Rating

if TYPE_CHECKING:
    from bot.domain.content import Bank, Question
__all__ = [
    "MAX_ANSWER_CHARS",
    "MAX_POINTS",
    "BankIndex",
    "Feedback",
    "KeyPoint",
    "PointVerdict",
    "bank_index",
    "check_answer",
    "suggest_grade",
]

MAX_POINTS = 8
MAX_ANSWER_CHARS = 4000
POINT_TERMS = 6
COVER_SHARE = 0.4
# Never more than this much matched weight (about one and a half terms the bank rarely uses):
# a long point full of rare side remarks is still covered by its gist.
NEEDED_CAP = 9.0
FUZZY_CUTOFF = 85.0
QUESTION_TERM_WEIGHT = 0.35
PREVIEW_WORDS = 8
# Grade thresholds on the 0..1 score (see suggest_grade).
EASY_FROM = 0.85
GOOD_FROM = 0.5
HARD_FROM = 0.1
MIN_POINT_TERMS = 2
STEM_MEMO = 65_536
LEAD_WORDS = 6

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*|[0-9]+[A-Za-z][A-Za-z0-9]*")
_MATH = re.compile(r"\\\(.+?\\\)|\\\[.+?\\\]|\$\$.+?\$\$", re.DOTALL)
_MARKUP = re.compile(r"[*_`~]+|\\(?=[^A-Za-z])")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"“])")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "et al.", "approx.", "cf.", "fig.", "eq.")
_SPACES = re.compile(r"\s+")
_SPACE_BEFORE_PUNCTUATION = re.compile(r" ([.,;:!?])")


@dataclass(frozen=True)
class KeyPoint:
    """One key point: its plain text, a short preview, and its weighted terms."""

    text: str
    preview: str
    terms: tuple[tuple[str, float], ...]  # (stem, weight), heaviest first
    distinctiveness: float

    @property
    def needed(self) -> float:
        """The matched weight that makes the point covered."""
        return min(NEEDED_CAP, COVER_SHARE * sum(weight for _, weight in self.terms[:POINT_TERMS]))


@dataclass(frozen=True)
class PointVerdict:
    point: KeyPoint
    covered: bool
    score: float  # matched weight / needed weight, capped at 1


@dataclass(frozen=True)
class Feedback:
    """What the offline checker found: a verdict per key point and a suggested grade."""

    verdicts: tuple[PointVerdict, ...]
    suggested: Rating
    score: float  # 0..1, what the grade is derived from

    @property
    def covered(self) -> int:
        return sum(1 for verdict in self.verdicts if verdict.covered)

    @property
    def total(self) -> int:
        return len(self.verdicts)


# --- text to terms ----------------------------------------------------------------------


@cache
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


class _Stemmer:
    """Snowball's English stemmer behind a lock (its objects are not thread-safe), with a
    bounded memo: words repeat a lot, and people type words the bank never had."""

    def __init__(self) -> None:
        import snowballstemmer

        self._stemmer = snowballstemmer.stemmer("english")
        self._lock = threading.Lock()
        self.stem = lru_cache(maxsize=STEM_MEMO)(self._stem)

    def _stem(self, word: str) -> str:
        with self._lock:
            return str(self._stemmer.stemWord(word))


@cache
def _stemmer() -> _Stemmer:
    return _Stemmer()


def _math_source(match: re.Match[str]) -> str:
    return f" {match.group(0)[2:-2]} "


def _math_as_text(markdown: str) -> str:
    """TeX math as Unicode text (``\\(d = 1000\\)`` -> ``d = 1000``), so previews read well."""
    if "\\" not in markdown and "$$" not in markdown:
        return markdown
    from bot.rendering.tex import tex_to_text

    def convert(match: re.Match[str]) -> str:
        raw = match.group(0)
        body = raw[2:-2]
        return f" {tex_to_text(body)} "

    return _MATH.sub(convert, markdown)


def plain_text(markdown: str, *, render_math: bool = True) -> str:
    """Markdown to readable plain text: math as text, emphasis markers and link targets dropped.

    ``render_math=False`` (typed answers) keeps the TeX source without its delimiters:
    rendering it costs milliseconds per formula, and only words matter for matching.
    """
    text = _math_as_text(markdown) if render_math else _MATH.sub(_math_source, markdown)
    text = _LINK.sub(r"\1", text)
    text = _MARKUP.sub("", text)
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", _SPACES.sub(" ", text)).strip()


def terms(text: str) -> list[str]:
    """Content stems of a plain text, in order, stop words and one-letter words removed."""
    stop = _stop_words()
    stemmer = _stemmer()
    out: list[str] = []
    for match in _WORD.finditer(text):
        word = match.group(0).lower()
        if len(word) < 2 or word in stop:
            continue
        out.append(stemmer.stem(word))
    return out


# --- key points -------------------------------------------------------------------------


@dataclass
class _Item:
    own: str
    children: list[_Item]

    def full_text(self) -> str:
        parts = [self.own, *(child.full_text() for child in self.children)]
        return " ".join(part for part in parts if part)


def _inline_text(node: Any) -> str:
    return " ".join(child.content for child in node.children if child.type == "inline")


def _item(node: Any) -> _Item:
    own: list[str] = []
    children: list[_Item] = []
    for child in node.children:
        if child.type in {"bullet_list", "ordered_list"}:
            children.extend(_item(grandchild) for grandchild in child.children)
        elif child.type == "paragraph":
            own.append(_inline_text(child))
        elif child.type in {"fence", "code_block"}:
            own.append(child.content)
    return _Item(" ".join(own), children)


def _blocks(markdown: str) -> tuple[list[_Item], list[str]]:
    """Top-level list items, and the text of top-level paragraphs outside lists."""
    from markdown_it import MarkdownIt
    from markdown_it.tree import SyntaxTreeNode

    tree = SyntaxTreeNode(MarkdownIt("commonmark").parse(_math_as_text(markdown)))
    items: list[_Item] = []
    paragraphs: list[str] = []
    for node in tree.children:
        if node.type in {"bullet_list", "ordered_list"}:
            items.extend(_item(child) for child in node.children)
        elif node.type in {"paragraph", "heading"}:
            paragraphs.append(_inline_text(node))
        elif node.type in {"fence", "code_block"}:
            paragraphs.append(node.content.strip())
    return items, paragraphs


def _sentences(text: str) -> list[str]:
    protected = text
    for index, abbreviation in enumerate(_ABBREVIATIONS):
        protected = re.sub(re.escape(abbreviation), f"\ue000{index}\ue001", protected, flags=re.I)
    pieces = _SENTENCE_END.split(protected)
    restored = []
    for piece in pieces:
        for index, abbreviation in enumerate(_ABBREVIATIONS):
            piece = piece.replace(f"\ue000{index}\ue001", abbreviation)
        restored.append(piece.strip())
    return [piece for piece in restored if piece]


def _raw_points(markdown: str) -> list[str]:
    """The candidate key points of an answer, as Markdown-ish texts, in answer order."""
    items, paragraphs = _blocks(markdown)
    if len(items) >= 2:
        return [item.full_text() for item in items]
    if len(items) == 1:
        lone = items[0]
        if len(lone.children) >= 2:
            # A short lead-in that only introduces the sub-items ("Rule of thumb:") is no point.
            heading = lone.own.rstrip().endswith(":") and len(lone.own.split()) < LEAD_WORDS
            lead = [lone.own] if lone.own and not heading else []
            return lead + [child.full_text() for child in lone.children]
        return _sentences(" ".join([lone.full_text(), *paragraphs]))
    return _sentences(" ".join(paragraphs))


def _preview(text: str, words: int = PREVIEW_WORDS) -> str:
    tokens = text.split()
    if len(tokens) <= words:
        return text.rstrip(":;,")
    return " ".join(tokens[:words]).rstrip(":;,.") + "…"


# --- the bank's statistics --------------------------------------------------------------


class BankIndex:
    """Term weights over the whole bank and every question's key points, built once."""

    def __init__(self, bank: Bank) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        documents = [f"{q.question}\n{plain_text(q.answer)}" for q in bank]
        vectorizer = TfidfVectorizer(analyzer=terms, sublinear_tf=True)
        vectorizer.fit(documents)
        vocabulary: dict[str, int] = vectorizer.vocabulary_
        idf = vectorizer.idf_
        self._idf: dict[str, float] = {term: float(idf[i]) for term, i in vocabulary.items()}
        self._default_idf = float(idf.max()) if len(idf) else 1.0
        self._points: dict[str, tuple[KeyPoint, ...]] = {
            question.id: self._key_points(question.question, question.answer) for question in bank
        }

    def idf(self, term: str) -> float:
        """A term's weight; a term the bank never uses is as rare as the rarest."""
        return self._idf.get(term, self._default_idf)

    def points(self, question_id: str) -> tuple[KeyPoint, ...]:
        return self._points.get(question_id, ())

    def points_of(self, question: Question) -> tuple[KeyPoint, ...]:
        """Key points of any question: this bank's were built with the index; another's (a
        deck of someone's own) are built now, weighted by this bank's term statistics."""
        found = self._points.get(question.id)
        if found is not None:
            return found
        return self._key_points(question.question, question.answer)

    def _key_points(self, question: str, answer: str) -> tuple[KeyPoint, ...]:
        raw_points = _raw_points(answer)
        built = self._weighted(question, raw_points, MIN_POINT_TERMS) or self._weighted(
            question, raw_points, 1
        )
        # The most distinctive first; ties keep answer order (sorted is stable).
        built.sort(key=lambda point: -point.distinctiveness)
        return tuple(built[:MAX_POINTS])

    def _weighted(self, question: str, raw_points: list[str], min_terms: int) -> list[KeyPoint]:
        """Points with their term weights; points with fewer than ``min_terms`` are dropped."""
        asked = set(terms(plain_text(question)))
        built: list[KeyPoint] = []
        for raw in raw_points:
            text = plain_text(raw)
            weights: dict[str, float] = {}
            for term in terms(text):
                weight = self.idf(term) * (QUESTION_TERM_WEIGHT if term in asked else 1.0)
                weights[term] = max(weights.get(term, 0.0), weight)
            ranked = tuple(sorted(weights.items(), key=lambda pair: (-pair[1], pair[0])))
            if len(ranked) < min_terms:
                continue
            top = [weight for _, weight in ranked[:POINT_TERMS]]
            built.append(KeyPoint(text, _preview(text), ranked, sum(top) / POINT_TERMS))
        return built


_INDEXES: WeakKeyDictionary[Bank, BankIndex] = WeakKeyDictionary()
_BUILD_LOCK = threading.Lock()


def bank_index(bank: Bank) -> BankIndex:
    """The bank's index, built on first use (seconds of CPU: run it off the event loop)."""
    index = _INDEXES.get(bank)
    if index is None:
        with _BUILD_LOCK:
            index = _INDEXES.get(bank)
            if index is None:
                index = BankIndex(bank)
                _INDEXES[bank] = index
    return index


# --- checking ---------------------------------------------------------------------------


def _match(term: str, typed: set[str], typed_list: Sequence[str]) -> float:
    if term in typed:
        return 1.0
    if len(term) < 5 or not typed_list:
        return 0.0
    from rapidfuzz import fuzz, process

    found = process.extractOne(term, typed_list, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
    return 0.9 if found is not None else 0.0


def _verdict(point: KeyPoint, typed: set[str], typed_list: Sequence[str]) -> PointVerdict:
    matched = sum(weight * _match(term, typed, typed_list) for term, weight in point.terms)
    needed = point.needed
    score = min(1.0, matched / needed) if needed > 0 else 0.0
    return PointVerdict(point, score >= 1.0, score)


def suggest_grade(verdicts: Sequence[PointVerdict], typed_terms: int) -> tuple[Rating, float]:
    """The grade the coverage suggests, and the 0..1 score behind it.

    The score mixes the share of points covered with the mean soft score, so one point
    half-said is not the same as nothing said. The thresholds were set on the evaluation set
    in tests/answer_eval/ (see BENCHMARKS.md): a poor answer must never reach Good, and an
    answer that gets something right should not be told Again.
    """
    if not verdicts or typed_terms < MIN_POINT_TERMS:
        return Rating.AGAIN, 0.0
    covered = sum(1 for verdict in verdicts if verdict.covered) / len(verdicts)
    soft = sum(verdict.score for verdict in verdicts) / len(verdicts)
    score = 0.6 * covered + 0.4 * soft
    if score >= EASY_FROM:
        return Rating.EASY, score
    if score >= GOOD_FROM:
        return Rating.GOOD, score
    if score >= HARD_FROM:
        return Rating.HARD, score
    return Rating.AGAIN, score


def check_answer(points: Iterable[KeyPoint], typed_answer: str) -> Feedback:
    """Which key points a typed answer covers, and the grade that suggests (pure)."""
    typed_list = terms(plain_text(typed_answer[:MAX_ANSWER_CHARS], render_math=False))
    typed = set(typed_list)
    unique = sorted(typed)
    verdicts = tuple(_verdict(point, typed, unique) for point in points)
    rating, score = suggest_grade(verdicts, len(typed))
    return Feedback(verdicts, rating, score)
