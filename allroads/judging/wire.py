"""One chat request, its reply, and what the request client counts about them.

The small shared vocabulary of :mod:`allroads.judging.client` (the sync path),
:mod:`allroads.judging.batch` (the Batch API path) and the roles on top of them
(:mod:`allroads.judging.openai_judge`, :mod:`allroads.judging.writer`): a :class:`Request`
(one user message, its cache key, extra decoding parameters), a :class:`Reply` (the raw text
and usage, or an error), :func:`reply_from_body` (a chat-completion object to a reply),
:func:`retry_delay` (backoff honouring ``Retry-After``), :class:`CostEstimate` and
:class:`RequestStats`.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_BACKOFF_S = 30.0
MAX_RETRY_AFTER_S = 300.0


@dataclass
class Request:
    """One chat request: a single user message ``prompt``, sent with the config's decoding
    (``OpenAIJudgeConfig.decoding``) updated by ``params`` (e.g. the writer's temperature and
    API seed). ``key`` is its cache key (also the Batch API ``custom_id``); ``index`` the
    position of the item (comparison, summary) it serves in the caller's list."""

    key: str
    index: int
    prompt: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Reply:
    """A request's final reply (``raw`` text and usage ``meta``; ``cached``: from the reply
    cache) or, when it failed after every retry, its ``error``."""

    raw: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    cached: bool = False
    error: str | None = None


class MalformedReply(ValueError):
    """A 200 response without a usable ``choices[0].message``."""


def reply_from_body(body: Any) -> tuple[str, dict[str, Any]]:
    """(raw text, meta) from a chat-completion object or dict; raises :class:`MalformedReply`."""
    if hasattr(body, "model_dump"):
        body = body.model_dump()
    if not isinstance(body, dict):
        raise MalformedReply(f"reply is not a JSON object: {type(body).__name__}")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise MalformedReply("reply has no choices")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise MalformedReply("reply has no message")
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise MalformedReply("reply content is not text")
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    meta = {
        "finish_reason": choices[0].get("finish_reason"),
        "prompt_tokens": usage.get("prompt_tokens"),
        "completion_tokens": usage.get("completion_tokens"),
        "response_model": body.get("model"),
        "system_fingerprint": body.get("system_fingerprint"),
    }
    if message.get("refusal"):
        meta["refusal"] = message["refusal"]
    return content or "", meta


def retry_delay(attempt: int, headers: Mapping[str, str] | None = None) -> float:
    """Seconds to wait before retry number ``attempt + 1``.

    A server's ``Retry-After-Ms`` / ``Retry-After`` (seconds or an HTTP date) wins; otherwise
    exponential backoff from 0.5 s, capped at 30 s, with jitter.
    """
    if headers is not None:
        for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
            value = headers.get(name)
            if value is None:
                continue
            try:
                seconds = float(value) * scale
            except ValueError:
                parsed = email.utils.parsedate_tz(value)
                if parsed is None:
                    continue
                seconds = email.utils.mktime_tz(parsed) - time.time()
            if math.isfinite(seconds) and seconds >= 0:
                return min(seconds, MAX_RETRY_AFTER_S)
    base = min(0.5 * 2**attempt, MAX_BACKOFF_S)
    return base * (0.75 + 0.25 * random.random())


@dataclass
class CostEstimate:
    """What the pending requests are expected to cost (printed before any call)."""

    comparisons: int  # items (comparisons, summaries) needing at least one request
    requests: int  # requests to send (cache misses)
    cached: int  # requests answered by the cache
    input_tokens: int  # estimated (~4 characters per token)
    output_tokens: int  # upper bound: max_tokens per request
    usd: float
    batch: bool

    def message(self, model: str, kind: str = "judge") -> str:
        price = " at Batch API prices" if self.batch else ""
        what = "summaries to write" if kind == "writing" else "comparisons to judge"
        who = "writer" if kind == "writing" else "judge"
        return (
            f"openai {who} ({model}): {self.comparisons} {what}, "
            f"{self.requests} requests to send ({self.cached} cached); "
            f"estimated {self.input_tokens:,} input tokens + at most {self.output_tokens:,} "
            f"output tokens = at most ${self.usd:.2f}{price}"
        )


@dataclass
class RequestStats:
    """Counters of one request client (across calls). ``comparisons`` and ``invalid`` are the
    judge role's (the writer leaves them 0); the rest are the client's."""

    comparisons: int = 0
    requests_needed: int = 0  # distinct requests the items needed
    cache_hits: int = 0
    http_attempts: int = 0  # chat requests sent, each retry counted (sync mode)
    api_calls: int = 0  # all calls made through the client (batch mode: files/batches too)
    retries: int = 0
    failed: int = 0  # requests that still failed after all retries (not cached)
    invalid: int = 0  # verdicts with score None
    format_retries: int = 0  # re-asks of unparseable replies (cached or sent)
    prompt_tokens: int = 0  # as reported by the server
    completion_tokens: int = 0


def short(e: BaseException, limit: int = 300) -> str:
    """An exception's text on one line, cut at ``limit`` characters."""
    text = str(e).replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "..."
