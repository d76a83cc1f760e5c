"""The judge role: the paper's gpt-4o winrate judge (Appendix C.4) on the request client.

For each :class:`~allroads.judging.base.Comparison` the judge

1. picks which summary is shown as "A" with a seeded hash of (seed, prompt id, the pair)
   (:func:`candidate_is_a`), or, with ``both_orders``, asks in both orders and calls a
   disagreement a tie;
2. renders the paper's prompt verbatim (:mod:`allroads.judging.prompts`) as one user message,
   its ``{{post}}`` filled with the post's text or, with ``judge.openai.post: query``, the
   formatted query the policy saw (subreddit, title, post; what the authors' judge read);
3. keys each request by :func:`~allroads.judging.cache.comparison_key` (model, template text,
   post, the summaries in presented order, decoding) and hands them to the request client
   (:class:`~allroads.judging.client.RequestClient`: reply cache, cost estimate and
   ``judge.openai.max_usd``, retries, sync or Batch API, re-asks of unparseable replies);
4. parses the last ``Preferred: A|B`` of each reply and maps it back to the candidate/reference.

A reply still unparseable after ``format_retries`` re-asks gives ``score=None`` (invalid, counted
by the winrate table, as are the re-asks) with every raw reply kept. Requests that still fail
after all retries fail the run by default (``on_error: raise``) once every success is cached.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .base import Comparison, Verdict
from .cache import comparison_key
from .client import Answers, RequestClient
from .openai_config import JudgeConfigError, OpenAIJudgeConfig
from .prompts import get_template, parse_preference, render
from .wire import Request, RequestStats


def candidate_is_a(seed: int, prompt_id: str, candidate: str, reference: str) -> bool:
    """Whether the candidate (policy) summary is presented as "A": a seeded, deterministic coin.

    A hash of (seed, prompt id, candidate, reference), so the same comparison always gets the
    same order under one seed, different seeds and prompts get independent orders, and no global
    RNG state is involved.
    """
    material = json.dumps([int(seed), str(prompt_id), candidate, reference], ensure_ascii=False)
    return hashlib.sha256(material.encode("utf-8")).digest()[0] & 1 == 1


@dataclass
class Ask:
    """One comparison shown in one order: its request and whether the candidate is "A"."""

    request: Request
    candidate_is_a: bool


class OpenAIJudge:
    """The paper's pairwise judge through any OpenAI-compatible chat-completions endpoint."""

    name = "openai"

    def __init__(
        self,
        config: OpenAIJudgeConfig,
        *,
        seed: int,
        workdir: str | os.PathLike | None = None,
        **client_kwargs: Any,
    ):
        """``client_kwargs``: ``http_client``, ``progress``, ``sleep`` of
        :class:`~allroads.judging.client.RequestClient`."""
        self.config = config
        self.seed = int(seed)
        self.template = get_template(config.template)
        self.client = RequestClient(config, kind="judge", workdir=workdir, **client_kwargs)

    @classmethod
    def from_config(
        cls,
        cfg: Mapping[str, Any] | None,
        *,
        seed: int,
        workdir: str | os.PathLike | None = None,
        **kwargs: Any,
    ) -> OpenAIJudge:
        """Build the judge from the ``judge.openai`` config dict (keys: see the schema)."""
        return cls(OpenAIJudgeConfig.from_mapping(cfg or {}), seed=seed, workdir=workdir, **kwargs)

    @property
    def stats(self) -> RequestStats:
        return self.client.stats

    def close(self) -> None:
        self.client.close()

    def judge(self, comparisons: list[Comparison]) -> list[Verdict]:
        """One verdict per comparison, in order (score 1 candidate, 0 reference, 0.5 tie, None invalid).

        An unparseable reply is re-asked (the same request) up to ``format_retries`` times
        (:meth:`RequestClient.ask`), so a rerun makes zero calls and gets the same verdicts.
        """
        cfg = self.config
        asks_per_comp: list[list[Ask]] = []
        for i, c in enumerate(comparisons):
            first = candidate_is_a(self.seed, c.prompt_id, c.candidate, c.reference)
            orders = [first, not first] if cfg.both_orders else [first]
            asks_per_comp.append([Ask(self.make_request(i, c, o), o) for o in orders])
        unique: dict[str, Request] = {}
        for asks in asks_per_comp:
            for j in asks:
                unique.setdefault(j.request.key, j.request)
        self.stats.comparisons += len(comparisons)

        tokens_before = (self.stats.prompt_tokens, self.stats.completion_tokens)
        answers = self.client.ask(unique, lambda raw: parse_preference(raw) is not None)
        verdicts = [
            self._verdict(c, asks, answers)
            for c, asks in zip(comparisons, asks_per_comp, strict=True)
        ]
        n_invalid = sum(v.score is None for v in verdicts)
        self.stats.invalid += n_invalid
        n_reasked = sum(v.meta.get("format_retries", 0) > 0 for v in verdicts)
        print(
            f"openai judge ({cfg.model}): {len(verdicts)} verdicts, {n_invalid} invalid "
            f"({len(answers.failed)} requests failed, {n_reasked} re-asked for an unparseable "
            f"reply), {answers.cache_hits} cache hits, "
            f"{self.stats.prompt_tokens - tokens_before[0]:,} input + "
            f"{self.stats.completion_tokens - tokens_before[1]:,} output tokens used",
            flush=True,
        )
        self.client.raise_failed(answers)
        return verdicts

    def shown_post(self, c: Comparison) -> str:
        """What fills the prompt's ``{{post}}`` (``judge.openai.post``): the post's text
        (``body``) or the formatted query the policy was prompted with, stripped as the authors'
        winrate.py strips the dataset's ``query`` (``query``)."""
        if self.config.post == "body":
            return c.post
        if c.query is None:
            raise JudgeConfigError(
                f"config key judge.openai.post: 'query' shows the judge the formatted query, but "
                f"comparison {c.id!r} (prompt {c.prompt_id!r}) has none (its record lacks "
                f"'prompt'); set judge.openai.post: body"
            )
        return c.query.strip()

    def make_request(self, index: int, c: Comparison, cand_a: bool) -> Request:
        """The request of comparison ``c`` (number ``index``) with the candidate as "A" or not."""
        a, b = (c.candidate, c.reference) if cand_a else (c.reference, c.candidate)
        post = self.shown_post(c)
        key = comparison_key(
            model=self.config.model,
            template=self.template,
            post=post,
            summary_a=a,
            summary_b=b,
            decoding=self.config.decoding,
        )
        return Request(key=key, index=index, prompt=render(self.template, post, a, b))

    def _verdict(self, c: Comparison, asks: list[Ask], answers: Answers) -> Verdict:
        """The verdict from each order's last reply (all raw replies are kept in the meta when
        there was a re-ask)."""
        orders = []
        for j in asks:
            tries = answers.tries(j.request.key)
            o = tries[-1]
            choice = parse_preference(o.raw)
            score = (
                None if choice is None else (1.0 if (choice == "A") == j.candidate_is_a else 0.0)
            )
            orders.append(
                {
                    "candidate_is_A": j.candidate_is_a,
                    "choice": choice,
                    "score": score,
                    "raw": o.raw,
                    "cached": all(t.cached for t in tries),
                    "cache_key": j.request.key,
                    "error": o.error,
                    "format_retries": len(tries) - 1,
                    "replies": [t.raw for t in tries],
                }
            )
        scores = [o["score"] for o in orders]
        if any(s is None for s in scores):
            score = None
        elif len(set(scores)) == 1:
            score = scores[0]
        else:
            score = 0.5  # the two orders disagree: a tie
        first = orders[0]
        meta: dict[str, Any] = {
            "judge": self.name,
            "model": self.config.model,
            "template": self.config.template,
            "mode": self.config.mode,
            "candidate_is_A": first["candidate_is_A"],
            "choice": first["choice"],
            "cached": all(o["cached"] for o in orders),
            "cache_key": first["cache_key"],
            "format_retries": sum(o["format_retries"] for o in orders),
        }
        if not self.config.both_orders and first["format_retries"]:
            meta["replies"] = first["replies"]  # every raw reply, the final one last
        errors = [o["error"] for o in orders if o["error"]]
        if errors:
            meta["error"] = errors[0]
        if score is None:
            meta["invalid_reason"] = "request_failed" if errors else "unparseable_reply"
        if self.config.both_orders:
            meta["orders"] = [
                {
                    k: v
                    for k, v in o.items()
                    if k != "raw" and (k != "replies" or o["format_retries"])
                }
                for o in orders
            ]
            raw = "\n\n".join(
                f"[order: candidate is {'A' if o['candidate_is_A'] else 'B'}]\n{o['raw']}"
                for o in orders
                if o["raw"] is not None
            )
            raw = raw or None
        else:
            raw = first["raw"]
        return Verdict(c.id, c.prompt_id, score, raw=raw, meta=meta)


__all__ = ["Ask", "OpenAIJudge", "candidate_is_a"]
