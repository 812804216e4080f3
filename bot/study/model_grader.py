"""The optional model grader: an OpenAI-compatible chat model judges the key points.

Configured by LLM_API_URL, LLM_API_KEY and LLM_MODEL (see bot.service.config). One request per
typed answer, through the official ``openai`` client, asking for JSON that pydantic then
validates: covered or missed for every key point, a suggested grade, one sentence of
advice. Anything else (a timeout after LLM_TIMEOUT_SECONDS, an HTTP error, JSON of the
wrong shape) returns None and the caller falls back to the offline checker. The API key
goes to the client only; it is never logged or put in an error message.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.domain.srs import Rating
from bot.service.extras import kept

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletionMessageParam

    from bot.service.config import Settings
log = logging.getLogger(__name__)

GRADES: dict[str, Rating] = {
    "again": Rating.AGAIN,
    "hard": Rating.HARD,
    "good": Rating.GOOD,
    "easy": Rating.EASY,
}

SYSTEM_PROMPT = """\
You grade a candidate's typed answer to a machine-learning interview question.
You get the question, the key points of the model answer (numbered) and the typed answer.
For every key point decide whether the typed answer covers it: the same idea counts even in
other words or another language; a mere mention of a term without the idea does not.
Suggest a spaced-repetition grade: "again" (missed the essentials), "hard" (some points,
with gaps), "good" (most points), "easy" (everything, clearly).
Reply with JSON only, exactly of this shape:
{"points": [{"n": 1, "covered": true}, ...], "grade": "good", "advice": "One sentence."}
The advice is one short sentence telling the candidate what to add or fix."""


class _PointJudgement(BaseModel):
    model_config = ConfigDict(extra="ignore")

    n: int
    covered: bool


class _ModelReply(BaseModel):
    model_config = ConfigDict(extra="ignore")

    points: list[_PointJudgement]
    grade: Literal["again", "hard", "good", "easy"]
    advice: str = Field(default="", max_length=400)


@dataclass(frozen=True)
class ModelVerdict:
    """The model's judgement, validated: one bool per key point, in the order given."""

    covered: tuple[bool, ...]
    suggested: Rating
    advice: str
    model: str


def build_messages(
    question: str, points: Sequence[str], answer: str
) -> list[ChatCompletionMessageParam]:
    numbered = "\n".join(f"{n}. {text}" for n, text in enumerate(points, start=1))
    user = (
        f"Question:\n{question}\n\nKey points of the model answer:\n{numbered}\n\n"
        f"Typed answer:\n{answer}"
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def parse_reply(content: str | None, point_count: int, model: str) -> ModelVerdict | None:
    """The model's JSON as a verdict, or None when it is not what was asked for."""
    if not content:
        return None
    text = content.strip()
    if text.startswith("```"):  # some models fence JSON despite being told not to
        text = text.strip("`").removeprefix("json").strip()
    try:
        reply = _ModelReply.model_validate(json.loads(text))
    except (ValueError, ValidationError):
        return None
    by_number = {item.n: item.covered for item in reply.points}
    if sorted(by_number) != list(range(1, point_count + 1)):
        return None
    advice = " ".join(reply.advice.split())
    return ModelVerdict(
        tuple(by_number[n] for n in range(1, point_count + 1)),
        GRADES[reply.grade],
        advice,
        model,
    )


class ModelGrader:
    """A configured client; one instance per running bot (it keeps a connection pool)."""

    def __init__(self, settings: Settings) -> None:
        if not settings.llm_enabled:
            raise ValueError("the model grader needs LLM_API_URL, LLM_API_KEY and LLM_MODEL")
        assert settings.llm_api_url is not None
        assert settings.llm_api_key is not None
        self.model = settings.llm_model or ""
        self.timeout = settings.llm_timeout_seconds
        self._url = settings.llm_api_url
        self._key = settings.llm_api_key
        self._client: AsyncOpenAI | None = None

    def _get_client(self) -> AsyncOpenAI:
        if self._client is None:
            from openai import AsyncOpenAI  # imported on first use: start-up does not pay

            self._client = AsyncOpenAI(
                base_url=self._url,
                api_key=self._key.get_secret_value(),
                timeout=self.timeout,
                max_retries=0,
            )
        return self._client

    async def judge(self, question: str, points: Sequence[str], answer: str) -> ModelVerdict | None:
        """The model's verdict, or None (timeout, error, bad JSON): then check offline."""
        from openai import OpenAIError

        client = self._get_client()
        try:
            async with asyncio.timeout(self.timeout):
                completion = await client.chat.completions.create(
                    model=self.model,
                    messages=build_messages(question, points, answer),
                    temperature=0,
                    response_format={"type": "json_object"},
                )
        except TimeoutError:
            log.warning("model grader: no answer within %.0f s", self.timeout)
            return None
        except OpenAIError as error:
            # The class name and status only: messages may quote request details.
            status = getattr(error, "status_code", None)
            log.warning(
                "model grader failed: %s%s", type(error).__name__, f" ({status})" * bool(status)
            )
            return None
        choices = getattr(completion, "choices", None) or []
        content = choices[0].message.content if choices else None
        verdict = parse_reply(content, len(points), self.model)
        if verdict is None:
            log.warning("model grader: the reply was not the JSON asked for")
        return verdict

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


# --- one grader per running bot ------------------------------------------------------------

SHARED_KEY = "model_grader"


def shared_grader(extras: MutableMapping[str, Any], settings: Settings) -> ModelGrader:
    """The running bot's model grader, created on first use and kept in ``extras``
    (``bot_data.extras``): one client and its connection pool for every typed answer."""
    return kept(extras, SHARED_KEY, ModelGrader, lambda: ModelGrader(settings))


async def close_shared_grader(extras: MutableMapping[str, Any]) -> None:
    """Close the shared grader's connections (post_shutdown); nothing if none was made."""
    grader = extras.pop(SHARED_KEY, None)
    if isinstance(grader, ModelGrader):
        await grader.close()
