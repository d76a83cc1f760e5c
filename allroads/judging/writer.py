"""The summary-writing role of gpt-4o: two-word summaries of a post (Appendix C.1, Figure 5).

The paper has gpt-4o write "a pair of two-word summaries" of every PFT train prompt (then pick
the winner with the evaluation prompt, :mod:`allroads.two_word_data`) and the reference
summaries of the evaluation prompts, with one prompt, :data:`WRITER_TEMPLATE`: the paper's text
word for word. The PDF-to-text extraction printed it as the opening sentence, a ``### Post:``
block and a ``### Instructions:`` block (each in a code box), then "Do not include any other
text or explanations in your response."; we lay it out as the judge prompts are laid out
(:mod:`allroads.judging.prompts`): blocks separated by a blank line, the closing sentence on the
line after the answer format, as the last line of the instructions.

Each :class:`WriteRequest` is one chat request through the request client that the judge also
sits on (:class:`~allroads.judging.client.RequestClient`: the official client, the SQLite reply
cache, the cost estimate and ``judge.openai.max_usd`` before any call, retries honouring
``Retry-After``, sync or Batch API mode with resume), with the writer's own decoding: its
``temperature`` and the API's ``seed``. Two requests that differ only in the seed are two
independent draws with their own cache keys (:func:`~allroads.judging.cache.writing_key`), so a
rerun replays every summary from the cache with zero calls.

:func:`parse_summary` takes the last ``Summary: ...`` line of a reply. A reply without one, the
echoed placeholder, or more than two words is unparseable: it is asked again (the same request,
its own cache key) up to ``judge.openai.format_retries`` times, like an unparseable judge reply;
if the last one still fails, the summary is ``None`` (counted by the caller, never guessed), with
every raw reply kept in its meta.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from typing import Any

from .cache import writing_key
from .client import RequestClient
from .openai_config import OpenAIJudgeConfig
from .wire import Request, RequestStats

WRITER_TEMPLATE = (
    "Given the following forum post, please write a summary of the post of length at most two "
    "words. The summaries should not include any unimportant or irrelevant details.\n\n"
    "### Post:\n{{post}}\n\n"
    "### Instructions:\n"
    "Your response should use the format:\n"
    "Summary: <two-word summary>\n"
    "Do not include any other text or explanations in your response."
)
"""Appendix C.1, the prompt that writes two-word summaries (Fig. 5)."""

MAX_WORDS = 2  # C.1: "a summary of the post of length at most two words"

_SUMMARY = re.compile(r"^[\s*_#>`]*summary[\s*_]*:(.*)$", re.IGNORECASE | re.MULTILINE)
_WRAP = "\"'`*_“”‘’ \t\r"


def render_writer(post: str) -> str:
    """The C.1 prompt for ``post`` (one pass: text inside a post is never re-substituted)."""
    head, tail = WRITER_TEMPLATE.split("{{post}}")
    return head + post + tail


def parse_summary(reply: str | None, max_words: int = MAX_WORDS) -> str | None:
    """The summary of the last ``Summary:`` line of ``reply``, stripped of wrapping quotes and
    markup; ``None`` when there is none, it is empty, it is the echoed ``<two-word summary>``
    placeholder, or it has more than ``max_words`` words (whitespace-separated)."""
    if not reply:
        return None
    matches = list(_SUMMARY.finditer(reply))
    if not matches:
        return None
    text = matches[-1].group(1).strip(_WRAP)
    if not text or ("<" in text and ">" in text):
        return None
    if len(text.split()) > max_words:
        return None
    return " ".join(text.split())


def request_seed(*parts: Any) -> int:
    """The API ``seed`` of one request: a stable 31-bit hash of ``parts`` (e.g. the writer seed,
    the split, the row id and the sample index), so every draw is its own request."""
    h = hashlib.sha256(json.dumps(list(parts), ensure_ascii=False).encode("utf-8")).digest()
    return int.from_bytes(h[:4], "little") & 0x7FFFFFFF


@dataclass(frozen=True)
class WriteRequest:
    id: str  # unique per request, e.g. "pft_train/<row id>#0"
    post: str
    temperature: float
    seed: int  # the API's `seed`: requests that differ only in it are independent draws


@dataclass
class Written:
    id: str
    summary: str | None  # None: no parseable summary after every re-ask, or the request failed
    raw: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return self.summary is not None


class SummaryWriter:
    """gpt-4o (``judge.openai.model``) writing two-word summaries, cached and budgeted."""

    name = "openai-writer"

    def __init__(
        self,
        config: OpenAIJudgeConfig,
        *,
        max_tokens: int,
        workdir: str | os.PathLike | None = None,
        **client_kwargs: Any,
    ):
        """``config``: the ``judge.openai`` section (model, endpoint, cache, mode, prices,
        ``max_usd``, retries); ``max_tokens`` replaces its reply limit (a summary line needs a
        few tokens; the cost estimate counts this many output tokens per request).
        ``client_kwargs``: ``http_client``, ``progress``, ``sleep`` of
        :class:`~allroads.judging.client.RequestClient`."""
        cfg = dc_replace(config, max_tokens=int(max_tokens))
        cfg.validate()
        self.config = cfg
        self.client = RequestClient(cfg, kind="writing", workdir=workdir, **client_kwargs)

    @classmethod
    def from_config(
        cls, judge_openai: Mapping[str, Any] | None, *, max_tokens: int, **kwargs: Any
    ) -> SummaryWriter:
        return cls(
            OpenAIJudgeConfig.from_mapping(judge_openai or {}), max_tokens=max_tokens, **kwargs
        )

    @property
    def stats(self) -> RequestStats:
        return self.client.stats

    def close(self) -> None:
        self.client.close()

    def make_request(self, index: int, request: WriteRequest) -> Request:
        """The chat request of ``request`` (number ``index``), keyed by :func:`writing_key`."""
        prompt = render_writer(request.post)
        params = {"temperature": float(request.temperature), "seed": int(request.seed)}
        key = writing_key(
            model=self.config.model, prompt=prompt, decoding={**self.config.decoding, **params}
        )
        return Request(key=key, index=index, prompt=prompt, params=params)

    def write(self, requests: list[WriteRequest]) -> list[Written]:
        """One :class:`Written` per request, in order. Every request of the call goes out in one
        round (one batch in batch mode), then one round per re-ask of unparseable replies.
        Requests failing after all retries raise after every success is cached (``on_error:
        raise``), or give ``summary=None`` (``on_error: invalid``)."""
        jobs = [self.make_request(i, r) for i, r in enumerate(requests)]
        unique: dict[str, Request] = {}
        for j in jobs:
            unique.setdefault(j.key, j)
        tokens_before = (self.stats.prompt_tokens, self.stats.completion_tokens)
        answers = self.client.ask(unique, lambda raw: parse_summary(raw) is not None)
        out = []
        for r, j in zip(requests, jobs, strict=True):
            tries = answers.tries(j.key)
            last = tries[-1]
            summary = parse_summary(last.raw)
            meta: dict[str, Any] = {
                "writer": self.name,
                "model": self.config.model,
                "temperature": j.params["temperature"],
                "seed": j.params["seed"],
                "cached": all(t.cached for t in tries),
                "cache_key": j.key,
                "format_retries": len(tries) - 1,
            }
            if len(tries) > 1:
                meta["replies"] = [t.raw for t in tries]  # every raw reply, the final one last
            if last.error:
                meta["error"] = last.error
            if summary is None:
                meta["invalid_reason"] = "request_failed" if last.error else "unparseable_reply"
            out.append(Written(r.id, summary, last.raw, meta))
        n_invalid = sum(not w.valid for w in out)
        n_reasked = sum(w.meta["format_retries"] > 0 for w in out)
        print(
            f"openai writer ({self.config.model}): {len(out)} summaries, {n_invalid} without one "
            f"({len(answers.failed)} requests failed, {n_reasked} re-asked for an unparseable "
            f"reply), {answers.cache_hits} cache hits, {self.stats.prompt_tokens - tokens_before[0]:,} input + "
            f"{self.stats.completion_tokens - tokens_before[1]:,} output tokens used",
            flush=True,
        )
        self.client.raise_failed(answers)
        return out


__all__ = [
    "MAX_WORDS",
    "WRITER_TEMPLATE",
    "SummaryWriter",
    "WriteRequest",
    "Written",
    "parse_summary",
    "render_writer",
    "request_seed",
]
