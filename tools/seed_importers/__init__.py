"""Importers that turn the seed documents into deck files, and what they share.

Both importers must give every question an id that is unique across the
whole bank and stable across re-runs (user progress is keyed by it), and a
few topical tags. Ids therefore come from the question text via
:func:`~bot.domain.content.slugify`, with ``-2``, ``-3`` ... appended in
import order when a slug is already taken; tags come from one small keyword
table so both decks use the same vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.domain.content import slugify

__all__ = ["TAG_KEYWORDS", "allocate_id", "assign_tags", "unique_in_order"]

MAX_TAGS = 4
# A tag is kept when its keywords score at least this much: one hit in the
# question (worth 3) or three different keywords in the answer (1 each).
_MIN_SCORE = 3
_QUESTION_WEIGHT = 3

# tag -> keyword patterns (case-insensitive regular expressions). Order matters
# only to break ties, so list the more specific tags first.
TAG_KEYWORDS: dict[str, tuple[str, ...]] = {
    "transformers": (
        r"transformer",
        r"\bbert\b",
        r"\bgpt",
        r"\bvit\b",
        r"positional encoding",
        r"\brope\b",
        r"colbert",
    ),
    "attention": (r"attention", r"\bq, ?k\b", r"\bk, ?q\b", r"\bquery, key"),
    "llm": (
        r"\bllms?\b",
        r"large language model",
        r"\brlhf\b",
        r"\bdpo\b",
        r"prompt",
        r"hallucinat",
        r"\blora\b",
        r"fine-tun",
        r"\brag\b",
        r"in-context",
    ),
    "nlp": (
        r"\bnlp\b",
        r"natural language",
        r"\btext\b",
        r"\bwords?\b",
        r"tokeni[sz]",
        r"sentiment",
        r"language model",
        r"named entity",
        r"\bner\b",
        r"part-of-speech",
        r"translation",
        r"\bbleu\b",
        r"stemming",
        r"lemmati",
        r"coreference",
        r"dependency parsing",
        r"dialogue",
        r"beam search",
    ),
    "embeddings": (r"embedding", r"word2vec", r"node2vec", r"sentence encoding", r"latent space"),
    "retrieval": (
        r"retriev",
        r"\brag\b",
        r"colbert",
        r"bi-encoder",
        r"cross-encoder",
        r"(?:semantic|vector) search",
    ),
    "cnn": (r"\bcnns?\b", r"convolution", r"kernel size", r"resnet", r"\bvgg", r"pooling"),
    "rnn": (r"\brnns?\b", r"\blstms?\b", r"\bgrus?\b", r"recurrent", r"sequence"),
    "generative-models": (
        r"\bgans?\b",
        r"generative",
        r"diffusion",
        r"autoencoder",
        r"auto-encoder",
        r"\bvaes?\b",
        r"\bddpm",
        r"\bddim",
        r"mode collapse",
    ),
    "regularization": (
        r"regulari[sz]",
        r"dropout",
        r"overfit",
        r"weight decay",
        r"\bl1\b",
        r"\bl2\b",
        r"early stopping",
        r"label smoothing",
    ),
    "optimization": (
        r"gradient descent",
        r"optimi[sz]",
        r"learning rate",
        r"\bsgd\b",
        r"\badam\b",
        r"saddle point",
        r"convergence",
        r"backprop",
        r"vanishing gradient",
        r"exploding gradient",
        r"mini-batch",
        r"momentum",
        r"loss function",
    ),
    "neural-networks": (
        r"neural net",
        r"activation",
        r"\brelu\b",
        r"sigmoid",
        r"softmax",
        r"\bmlp\b",
        r"perceptron",
        r"batch normali[sz]ation",
        r"layer normali[sz]ation",
        r"weight initiali[sz]ation",
        r"deep learning",
        r"\belu\b",
        r"hidden layer",
    ),
    "statistics": (
        r"correlation",
        r"hypothesis",
        r"p-value",
        r"central limit",
        r"\bmedian\b",
        r"variance",
        r"skew",
        r"statistic",
        r"sampling bias",
        r"selection bias",
        r"a/b test",
        r"zipf",
        r"power law",
        r"bernoulli",
        r"binomial",
        r"long-tailed distribution",
        r"\bmean\b",
    ),
    "probability": (
        r"probabilit",
        r"bayes",
        r"\bdice\b",
        r"\bcoin\b",
        r"birthday",
        r"entropy",
        r"likelihood",
    ),
    "evaluation": (
        r"evaluat",
        r"metric",
        r"precision",
        r"recall",
        r"\bf1\b",
        r"\broc\b",
        r"\bauc\b",
        r"cross-validation",
        r"accuracy",
        r"\bbleu\b",
        r"underperform",
    ),
    "classical-ml": (
        r"linear regression",
        r"logistic regression",
        r"\bsvms?\b",
        r"support vector",
        r"naive bayes",
        r"\bk-?nns?\b",
        r"nearest neighbo",
        r"\bpca\b",
        r"principal component",
        r"dimensionality reduction",
        r"kernel trick",
        r"parametric",
        r"\blda\b",
        r"expectation-maximization",
        r"bias-variance",
        r"supervised",
    ),
    "trees": (
        r"decision tree",
        r"random forest",
        r"boosting",
        r"\bgbdts?\b",
        r"xgboost",
        r"adaboost",
        r"bagging",
        r"ensembl",
        r"\btrees?\b",
    ),
    "clustering": (r"cluster", r"k-means", r"\bkmeans\b"),
    "data": (
        r"missing (?:data|values?)",
        r"imbalanc",
        r"outlier",
        r"data augmentation",
        r"feature selection",
        r"standardi[sz]",
        r"one-hot",
        r"dummy variable",
        r"long[- ]tail",
        r"distribution shift",
        r"weak supervision",
        r"active learning",
        r"labell?ed data",
        r"annotat",
    ),
    "data-engineering": (
        r"parquet",
        r"\bspark\b",
        r"big data",
        r"data lake",
        r"\bkafka\b",
        r"\bredis\b",
        r"nosql",
        r"database",
    ),
    "python": (
        r"python",
        r"\btuples?\b",
        r"\barrays?\b",
        r"write a (?:python )?function",
        r"numpy",
        r"\bswap\b",
    ),
    "pytorch": (r"pytorch", r"torch\.", r"\bnn\.", r"zero_grad", r"model\.eval"),
    "sql": (r"\bsql\b", r"\bjoins?\b", r"\bselect\b", r"\bquery\b"),
    "systems": (
        r"distributed",
        r"consistent hashing",
        r"load balanc",
        r"bloom filter",
        r"xor filter",
        r"compiler",
        r"\bvram\b",
        r"\bgpu\b",
        r"batching",
        r"on-device",
        r"flash attention",
        r"memory",
        r"latency",
        r"quantization",
    ),
    "reinforcement-learning": (
        r"reinforcement learning",
        r"\brl\b",
        r"bandit",
        r"explore-exploit",
        r"\brlhf\b",
    ),
    "mlops": (r"mlops", r"devops", r"lifecycle", r"deploy", r"experiments?\b", r"random seed"),
}

_COMPILED: dict[str, tuple[re.Pattern[str], ...]] = {
    tag: tuple(re.compile(pattern, re.IGNORECASE) for pattern in patterns)
    for tag, patterns in TAG_KEYWORDS.items()
}


def assign_tags(question: str, answer: str, *, fallback: str) -> tuple[str, ...]:
    """One to four tags for a question, strongest first, from :data:`TAG_KEYWORDS`.

    A keyword found in the question weighs three times one found only in the
    answer, and each keyword counts once, so a long answer that merely
    mentions "GPU" does not get tagged ``systems``. ``fallback`` is used when
    nothing scores (it must be a slug).
    """
    scores: list[tuple[int, int, str]] = []
    for order, (tag, patterns) in enumerate(_COMPILED.items()):
        score = 0
        for pattern in patterns:
            if pattern.search(question):
                score += _QUESTION_WEIGHT
            elif pattern.search(answer):
                score += 1
        if score >= _MIN_SCORE:
            scores.append((-score, order, tag))
    chosen = [tag for _, _, tag in sorted(scores)[:MAX_TAGS]]
    return tuple(chosen) or (fallback,)


def allocate_id(text: str, taken: set[str]) -> str:
    """A slug of ``text`` not in ``taken`` (``-2``, ``-3`` ... appended); adds it to ``taken``."""
    base = slugify(text)
    candidate = base
    suffix = 2
    while candidate in taken:
        candidate = f"{base}-{suffix}"
        suffix += 1
    taken.add(candidate)
    return candidate


def unique_in_order(values: Sequence[str]) -> list[str]:
    """Values in first-seen order without repeats (notes list each heading once)."""
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(value, None)
    return list(seen)
