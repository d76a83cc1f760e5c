"""The ``openai`` judge: the paper's gpt-4o winrate judge (Appendix C.4), cached and budgeted.

For each :class:`~allroads.judging.base.Comparison` the judge

1. picks which summary is shown as "A" with a seeded hash of (seed, prompt id, the pair)
   (:func:`candidate_is_a`), or, with ``both_orders``, asks in both orders and calls a
   disagreement a tie;
2. renders the paper's prompt verbatim (:mod:`allroads.judging.prompts`) as one user message;
3. looks the request up in the SQLite reply cache (:mod:`allroads.judging.cache`), keyed by a
   content hash of everything that shapes the reply;
4. prints the number of requests still to send, an estimate of the tokens and dollars, and
   refuses to start when the estimate exceeds ``judge.openai.max_usd``;
5. sends the misses through the official ``openai`` client, either concurrently
   (``mode: sync``: ``AsyncOpenAI``, a semaphore of ``concurrency`` requests, our own retries with
   exponential backoff honouring ``Retry-After``, an explicit timeout) or through the Batch API
   (``mode: batch``: JSONL upload, batch id persisted in the job's workdir before polling, resumed
   after a crash, results joined on ``custom_id`` = cache key), storing each final raw reply;
6. parses the last ``Preferred: A|B`` of each reply and maps it back to the candidate/reference.

An unparseable reply is re-asked (the same request, its own cache key) up to
``format_retries`` times; if the last one is still unparseable the verdict is ``score=None``
(invalid, counted by the winrate table, as are the re-asks) with every raw reply kept. Requests
that still fail after all retries are never cached and, by default (``on_error: raise``), fail
the run after every successful reply has been cached, so a rerun sends only the failed ones.
The API key is read from ``OPENAI_API_KEY`` only and never logged, stored or put into a verdict.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json
import logging
import math
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import Any

from .base import Comparison, Verdict
from .cache import ReplyCache, comparison_key, reask_key
from .prompts import get_template, parse_preference, render

log = logging.getLogger(__name__)

PAPER_MODEL = "gpt-4o-2024-08-06"
BATCH_DISCOUNT = 0.5  # the Batch API bills half the synchronous price
BATCH_MAX_REQUESTS = 50_000  # OpenAI's per-batch request limit
LOCAL_DUMMY_KEY = "sk-local-no-key"  # sent only to a custom base_url when OPENAI_API_KEY is unset
_TERMINAL_BATCH = {"completed", "failed", "expired", "cancelled"}
_FATAL_STATUS = {401, 403, 404}  # wrong key, no access, unknown model: abort the whole run
_RETRY_STATUS = {408, 409, 429}  # plus every 5xx
_MAX_BACKOFF_S = 30.0
_MAX_RETRY_AFTER_S = 300.0


class JudgeConfigError(ValueError):
    """A ``judge.openai`` config value (or the environment) is unusable."""


class BudgetExceededError(RuntimeError):
    """The estimated cost of the pending requests exceeds ``judge.openai.max_usd``."""


class JudgeAPIError(RuntimeError):
    """The API refused the run (bad key, unknown model) or requests failed after all retries."""


@dataclass(frozen=True)
class OpenAIJudgeConfig:
    """The ``judge.openai`` config section (see ``schemas/judge_openai.schema.yaml``)."""

    model: str = PAPER_MODEL
    base_url: str | None = None
    template: str = "standard"
    temperature: float = 0.0
    max_tokens: int = 256
    concurrency: int = 32
    timeout_s: float = 60.0
    max_retries: int = 6
    mode: str = "sync"
    both_orders: bool = False
    cache: str | None = None
    price_input_per_mtok: float = 2.50
    price_output_per_mtok: float = 10.00
    max_usd: float | None = None
    batch_poll_s: float = 30.0
    on_error: str = "raise"
    format_retries: int = 2

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any]) -> OpenAIJudgeConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise JudgeConfigError(
                f"config key judge.openai: unknown key(s) {unknown} (known: {sorted(known)})"
            )
        out = cls(
            **{
                k: v
                for k, v in cfg.items()
                if v is not None or k in ("base_url", "max_usd", "cache")
            }
        )
        out.validate()
        return out

    def validate(self) -> None:
        def bad(key: str, why: str) -> JudgeConfigError:
            return JudgeConfigError(f"config key judge.openai.{key}: {why}")

        get_template(self.template)  # raises naming judge.openai.template
        if self.mode not in ("sync", "batch"):
            raise bad("mode", f"{self.mode!r} is not 'sync' or 'batch'")
        if self.on_error not in ("raise", "invalid"):
            raise bad("on_error", f"{self.on_error!r} is not 'raise' or 'invalid'")
        if not self.model:
            raise bad("model", "must be a non-empty model name")
        if self.concurrency < 1:
            raise bad("concurrency", "must be >= 1")
        if self.max_tokens < 1:
            raise bad("max_tokens", "must be >= 1")
        if self.max_retries < 0:
            raise bad("max_retries", "must be >= 0")
        if self.format_retries < 0:
            raise bad("format_retries", "must be >= 0")
        if not self.timeout_s > 0:
            raise bad("timeout_s", "must be > 0")
        if self.temperature < 0:
            raise bad("temperature", "must be >= 0")
        if self.max_usd is not None and self.max_usd < 0:
            raise bad("max_usd", "must be >= 0 or null")
        if self.price_input_per_mtok < 0 or self.price_output_per_mtok < 0:
            raise bad("price_input_per_mtok", "prices must be >= 0")

    @property
    def decoding(self) -> dict[str, Any]:
        """The decoding parameters sent with every request (and hashed into the cache key)."""
        return {"temperature": float(self.temperature), "max_tokens": int(self.max_tokens)}


def candidate_is_a(seed: int, prompt_id: str, candidate: str, reference: str) -> bool:
    """Whether the candidate (policy) summary is presented as "A": a seeded, deterministic coin.

    A hash of (seed, prompt id, candidate, reference), so the same comparison always gets the
    same order under one seed, different seeds and prompts get independent orders, and no global
    RNG state is involved.
    """
    material = json.dumps([int(seed), str(prompt_id), candidate, reference], ensure_ascii=False)
    return hashlib.sha256(material.encode("utf-8")).digest()[0] & 1 == 1


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
                return min(seconds, _MAX_RETRY_AFTER_S)
    base = min(0.5 * 2**attempt, _MAX_BACKOFF_S)
    return base * (0.75 + 0.25 * random.random())


@dataclass
class CostEstimate:
    """What the pending requests are expected to cost (printed before any call)."""

    comparisons: int  # comparisons needing at least one request
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
class JudgeStats:
    """Counters of one judge instance (across ``judge`` calls)."""

    comparisons: int = 0
    requests_needed: int = 0  # distinct judge requests the comparisons needed
    cache_hits: int = 0
    http_attempts: int = 0  # chat requests sent, each retry counted (sync mode)
    api_calls: int = 0  # all calls made through the client (batch mode: files/batches too)
    retries: int = 0
    failed: int = 0  # requests that still failed after all retries (not cached)
    invalid: int = 0  # verdicts with score None
    format_retries: int = 0  # re-asks of unparseable replies (cached or sent)
    prompt_tokens: int = 0  # as reported by the server
    completion_tokens: int = 0


@dataclass
class _Job:
    """One judge request: a comparison shown in one order."""

    key: str
    index: int  # position of the comparison in the input list
    candidate_is_a: bool
    prompt: str
    # request parameters on top of config.decoding (the summary writer's temperature and seed)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Outcome:
    raw: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    cached: bool = False
    error: str | None = None


class _MalformedReply(ValueError):
    """A 200 response without a usable ``choices[0].message``."""


def _reply_from_body(body: Any) -> tuple[str, dict[str, Any]]:
    """(raw text, meta) from a chat-completion object or dict; raises _MalformedReply."""
    if hasattr(body, "model_dump"):
        body = body.model_dump()
    if not isinstance(body, dict):
        raise _MalformedReply(f"reply is not a JSON object: {type(body).__name__}")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise _MalformedReply("reply has no choices")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise _MalformedReply("reply has no message")
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise _MalformedReply("reply content is not text")
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


def _run_coroutine(coro):
    """``asyncio.run`` that also works when the caller already runs an event loop."""
    try:
        asyncio.get_running_loop()
        running = True
    except RuntimeError:
        running = False
    if not running:  # outside the except: an error of ``coro`` carries no "no running event loop"
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target():
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as e:  # re-raised in the caller's thread
            box["error"] = e

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


class OpenAIJudge:
    """The paper's pairwise judge through any OpenAI-compatible chat-completions endpoint."""

    name = "openai"
    activity = "judging"  # the progress bar's label (the summary writer: "writing")
    request_kind = "judge"  # as named in messages (the summary writer: "writing")

    def __init__(
        self,
        config: OpenAIJudgeConfig,
        *,
        seed: int,
        workdir: str | os.PathLike | None = None,
        http_client: Any = None,
        progress: bool | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        """``http_client``: an ``httpx2.AsyncClient`` (sync mode) or ``httpx2.Client`` (batch mode)
        handed to the ``openai`` client, e.g. with a mock transport in tests. ``progress``:
        show a tqdm bar on stderr (default: yes; every 10 s when stderr is a log file).
        ``sleep``: used between batch polls.
        """
        self.config = config
        self.seed = int(seed)
        self.workdir = Path(workdir) if workdir is not None else None
        self.template = get_template(config.template)
        cache_path = config.cache or (
            str(self.workdir / "openai_judge_cache.sqlite")
            if self.workdir is not None
            else ".cache/allroads/openai_judge.sqlite"
        )
        self.cache = ReplyCache(cache_path)
        self.stats = JudgeStats()
        self._http_client = http_client
        self._progress = True if progress is None else progress
        self._sleep = sleep

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

    # ------------------------------------------------------------------ public

    def judge(self, comparisons: list[Comparison]) -> list[Verdict]:
        """One verdict per comparison, in order (score 1 candidate, 0 reference, 0.5 tie, None invalid).

        An unparseable reply is re-asked (the same request) up to ``format_retries`` times, one
        round per re-ask: each round goes through the cache (re-asks have their own keys,
        :func:`reask_key`), the budget check and the sync or batch path like the first, so a
        rerun makes zero calls and gets the same verdicts.
        """
        cfg = self.config
        jobs_per_comp: list[list[_Job]] = []
        for i, c in enumerate(comparisons):
            first = candidate_is_a(self.seed, c.prompt_id, c.candidate, c.reference)
            orders = [first, not first] if cfg.both_orders else [first]
            jobs_per_comp.append([self._make_job(i, c, order) for order in orders])
        unique: dict[str, _Job] = {}
        for jobs in jobs_per_comp:
            for j in jobs:
                unique.setdefault(j.key, j)
        self.stats.comparisons += len(comparisons)

        tokens_before = (self.stats.prompt_tokens, self.stats.completion_tokens)
        attempts, n_hits, n_pending, failed = self._ask(
            unique, lambda raw: parse_preference(raw) is not None
        )
        verdicts = [
            self._verdict(c, jobs, attempts)
            for c, jobs in zip(comparisons, jobs_per_comp, strict=True)
        ]
        n_invalid = sum(v.score is None for v in verdicts)
        self.stats.invalid += n_invalid
        n_reasked = sum(v.meta.get("format_retries", 0) > 0 for v in verdicts)
        print(
            f"openai judge ({cfg.model}): {len(verdicts)} verdicts, {n_invalid} invalid "
            f"({len(failed)} requests failed, {n_reasked} re-asked for an unparseable reply), "
            f"{n_hits} cache hits, {self.stats.prompt_tokens - tokens_before[0]:,} input + "
            f"{self.stats.completion_tokens - tokens_before[1]:,} output tokens used",
            flush=True,
        )
        self._raise_failed(failed, attempts, n_pending)
        return verdicts

    def _ask(
        self, unique: dict[str, _Job], parses: Callable[[str | None], bool]
    ) -> tuple[dict[str, list[_Outcome]], int, int, list[str]]:
        """Replies to ``unique`` (key -> request), each unparseable one (``parses`` false) asked
        again up to ``format_retries`` times, one round per re-ask; every round goes through the
        cache (re-asks have their own keys, :func:`reask_key`), the budget check and the sync or
        batch path like the first. Shared by the judge and the summary writer
        (:mod:`allroads.judging.writer`). Returns (``attempts[key]`` = the first reply and its
        re-asks in order, cache hits, requests pending, keys whose last request failed)."""
        self.stats.requests_needed += len(unique)
        outcomes, n_hits, n_pending, usd = self._answer(unique, round_=0, usd_before=0.0)
        # (a resumed batch may bring replies of other requests: only this call's are used)
        attempts: dict[str, list[_Outcome]] = {k: [outcomes[k]] for k in unique if k in outcomes}
        for r in range(1, self.config.format_retries + 1):
            redo = {
                reask_key(k, r): dc_replace(unique[k], key=reask_key(k, r))
                for k, tries in attempts.items()
                if tries[-1].error is None and not parses(tries[-1].raw)
            }
            if not redo:
                break
            base = {reask_key(k, r): k for k in attempts}
            got, hits_r, pending_r, usd = self._answer(redo, round_=r, usd_before=usd)
            n_hits, n_pending = n_hits + hits_r, n_pending + pending_r
            self.stats.format_retries += len(redo)
            for rk, o in got.items():
                if rk in base:
                    attempts[base[rk]].append(o)
        failed = [k for k, tries in attempts.items() if tries[-1].error is not None]
        self.stats.failed += len(failed)
        return attempts, n_hits, n_pending, failed

    def _raise_failed(
        self, failed: list[str], attempts: dict[str, list[_Outcome]], n_pending: int
    ) -> None:
        """``on_error: raise``: fail once every successful reply is cached (a rerun sends only
        the failed requests)."""
        cfg = self.config
        if failed and cfg.on_error == "raise":
            first = attempts[failed[0]][-1].error
            raise JudgeAPIError(
                f"{len(failed)} of {n_pending} {self.request_kind} requests failed after "
                f"judge.openai.max_retries={cfg.max_retries} retries (first error: {first}); the "
                f"{n_pending - len(failed)} successful replies are cached, rerun to retry the "
                f"rest (or set judge.openai.on_error: invalid to record them as invalid)"
            )

    def _answer(
        self, unique: dict[str, _Job], round_: int, usd_before: float
    ) -> tuple[dict[str, _Outcome], int, int, float]:
        """Replies to ``unique`` (key -> job): from the cache, else sent (sync or batch) after the
        cost check. Round 0 = the first ask, round r = the r-th re-ask of unparseable replies.
        Returns (outcomes, cache hits, requests pending, estimated USD so far)."""
        cfg = self.config
        what = "" if round_ == 0 else f" re-ask {round_} of unparseable replies:"
        hits = self.cache.get_many(unique)
        outcomes: dict[str, _Outcome] = {
            k: _Outcome(raw=v["raw"], meta=v["meta"], cached=True) for k, v in hits.items()
        }
        pending = [j for k, j in unique.items() if k not in hits]
        self.stats.cache_hits += len(hits)
        if not pending:
            print(
                f"openai judge ({cfg.model}):{what} all {len(unique)} requests cached; no API call",
                flush=True,
            )
            return outcomes, len(hits), 0, usd_before
        self._api_key()  # a missing OPENAI_API_KEY fails here: one message, nothing written
        # requests already in a submitted (persisted) batch are paid for: not re-estimated
        submitted = self._submitted_batch_keys(pending) if cfg.mode == "batch" else set()
        to_send = [j for j in pending if j.key not in submitted]
        estimate = self.estimate_cost(to_send, n_cached=len(hits))
        if submitted:
            print(
                f"openai judge: {len(pending) - len(to_send)} requests are in an already "
                f"submitted batch; resuming it",
                flush=True,
            )
        print(f"{estimate.message(cfg.model, self.request_kind)}{what}", flush=True)
        log.info("%s%s", estimate.message(cfg.model, self.request_kind), what)
        usd = usd_before + estimate.usd
        if cfg.max_usd is not None and usd > cfg.max_usd:
            reask = (
                ""
                if round_ == 0
                else f" (with re-ask {round_} of {len(unique)} unparseable replies; the replies "
                f"so far are cached, or set judge.openai.format_retries lower)"
            )
            raise BudgetExceededError(
                f"judge.openai.max_usd: the estimated cost ${usd:.2f} of "
                f"{estimate.requests} pending requests exceeds the limit "
                f"${cfg.max_usd:.2f}{reask}; "
                f"raise judge.openai.max_usd or judge fewer prompts"
                f"{'' if cfg.mode == 'batch' else ' (mode: batch halves the price)'}. "
                f"No {'request' if round_ == 0 else 're-ask'} was sent."
            )
        if cfg.mode == "batch":
            outcomes.update(self._run_batch(pending))
        else:
            outcomes.update(_run_coroutine(self._run_async(pending)))
        return outcomes, len(hits), len(pending), usd

    def estimate_cost(self, jobs: list[_Job], n_cached: int = 0) -> CostEstimate:
        """Token and dollar estimate for ``jobs``: ~4 characters per input token (+8 per message),
        ``max_tokens`` output tokens per request (an upper bound)."""
        cfg = self.config
        n_in = sum(math.ceil(len(j.prompt) / 4) + 8 for j in jobs)
        n_out = cfg.max_tokens * len(jobs)
        usd = (n_in * cfg.price_input_per_mtok + n_out * cfg.price_output_per_mtok) / 1e6
        batch = cfg.mode == "batch"
        if batch:
            usd *= BATCH_DISCOUNT
        return CostEstimate(
            comparisons=len({j.index for j in jobs}),
            requests=len(jobs),
            cached=n_cached,
            input_tokens=n_in,
            output_tokens=n_out,
            usd=usd,
            batch=batch,
        )

    def close(self) -> None:
        self.cache.close()

    # ----------------------------------------------------------------- helpers

    def _make_job(self, index: int, c: Comparison, cand_a: bool) -> _Job:
        a, b = (c.candidate, c.reference) if cand_a else (c.reference, c.candidate)
        key = comparison_key(
            model=self.config.model,
            template=self.template,
            post=c.post,
            summary_a=a,
            summary_b=b,
            decoding=self.config.decoding,
        )
        return _Job(
            key=key, index=index, candidate_is_a=cand_a, prompt=render(self.template, c.post, a, b)
        )

    def _request_body(self, job: _Job) -> dict[str, Any]:
        return {
            "model": self.config.model,
            "messages": [{"role": "user", "content": job.prompt}],
            **self.config.decoding,
            **job.params,
        }

    def _api_key(self) -> str:
        key = os.environ.get("OPENAI_API_KEY")
        if key:
            return key
        if self.config.base_url:
            return LOCAL_DUMMY_KEY
        raise JudgeConfigError(
            "the openai judge needs the environment variable OPENAI_API_KEY (or set "
            "judge.openai.base_url to an OpenAI-compatible server that needs no key)"
        )

    def _client_kwargs(self) -> dict[str, Any]:
        import httpx2

        t = self.config.timeout_s
        kwargs: dict[str, Any] = {
            "api_key": self._api_key(),
            "timeout": httpx2.Timeout(t, connect=min(t, 10.0)),
        }
        if self.config.base_url:
            kwargs["base_url"] = self.config.base_url
        if self._http_client is not None:
            kwargs["http_client"] = self._http_client
        return kwargs

    def _store(self, job_key: str, raw: str, meta: dict[str, Any]) -> None:
        self.cache.put(job_key, model=self.config.model, raw=raw, meta=meta)
        self.stats.prompt_tokens += meta.get("prompt_tokens") or 0
        self.stats.completion_tokens += meta.get("completion_tokens") or 0

    def _verdict(
        self, c: Comparison, jobs: list[_Job], attempts: dict[str, list[_Outcome]]
    ) -> Verdict:
        """The verdict from each order's last reply; ``attempts[key]`` = the first ask and its
        re-asks, in order (all raw replies are kept in the meta when there was a re-ask)."""
        orders = []
        for j in jobs:
            tries = attempts.get(j.key) or [_Outcome(error="no reply")]
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
                    "cache_key": j.key,
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

    # -------------------------------------------------------------- sync mode

    async def _run_async(self, jobs: list[_Job]) -> dict[str, _Outcome]:
        from openai import AsyncOpenAI
        from tqdm.auto import tqdm

        client = AsyncOpenAI(max_retries=0, **self._client_kwargs())
        sem = asyncio.Semaphore(self.config.concurrency)
        outcomes: dict[str, _Outcome] = {}

        async def one(job: _Job) -> None:
            async with sem:
                outcomes[job.key] = await self._request_with_retries(client, job)

        bar = tqdm(
            total=len(jobs),
            desc=f"{self.activity} ({self.config.model})",
            unit="req",
            disable=not self._progress,
            mininterval=0.5 if sys.stderr.isatty() else 10.0,  # sparse updates in job logs
        )
        tasks = [asyncio.create_task(one(j)) for j in jobs]
        try:
            for fut in asyncio.as_completed(tasks):
                await fut  # a fatal error (bad key, unknown model) propagates from here
                bar.update(1)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            bar.close()
            if self._http_client is None:
                await client.close()
        return outcomes

    async def _request_with_retries(self, client: Any, job: _Job) -> _Outcome:
        import openai

        body = self._request_body(job)
        last_error = "no attempt"
        attempts = self.config.max_retries + 1
        for attempt in range(attempts):
            self.stats.http_attempts += 1
            self.stats.api_calls += 1
            headers = None
            try:
                reply = await client.chat.completions.create(**body)
                raw, meta = _reply_from_body(reply)
            except openai.APIStatusError as e:
                if e.status_code in _FATAL_STATUS:
                    raise JudgeAPIError(
                        f"the judge endpoint answered {e.status_code} ({type(e).__name__}) for model "
                        f"{self.config.model!r}: check OPENAI_API_KEY, judge.openai.model and "
                        f"judge.openai.base_url"
                    ) from None
                last_error = f"HTTP {e.status_code}: {_short(e)}"
                if e.status_code not in _RETRY_STATUS and e.status_code < 500:
                    return _Outcome(error=last_error)  # e.g. 400: this request will never work
                headers = e.response.headers
            except (openai.APIConnectionError, json.JSONDecodeError, _MalformedReply) as e:
                last_error = f"{type(e).__name__}: {_short(e)}"
            else:
                meta["attempts"] = attempt + 1
                self._store(job.key, raw, meta)
                return _Outcome(raw=raw, meta=meta)
            if attempt + 1 < attempts:
                self.stats.retries += 1
                delay = retry_delay(attempt, headers)
                log.info(
                    "judge request failed (%s); retry %d in %.2fs", last_error, attempt + 1, delay
                )
                await asyncio.sleep(delay)
        log.warning("judge request failed after %d attempts: %s", attempts, last_error)
        return _Outcome(error=f"{last_error} (after {attempts} attempts)")

    # -------------------------------------------------------------- batch mode

    def _batch_dir(self, jobs: list[_Job]) -> Path:
        if self.workdir is not None:
            return self.workdir
        digest = hashlib.sha256("\n".join(sorted(j.key for j in jobs)).encode()).hexdigest()[:16]
        return self.cache.path.parent / "openai_batches" / digest

    def _submitted_batch_keys(self, jobs: list[_Job]) -> set[str]:
        """custom_ids of persisted batches of this workdir that were not ingested yet."""
        workdir = self._batch_dir(jobs)
        state_path = workdir / "openai_batch_state.json"
        if not state_path.exists():
            return set()
        keys: set[str] = set()
        for entry in json.loads(state_path.read_text())["batches"]:
            path = workdir / entry.get("input_path", "")
            if not entry.get("ingested") and path.is_file():
                with open(path, encoding="utf-8") as f:
                    keys.update(json.loads(line)["custom_id"] for line in f if line.strip())
        return keys

    def _run_batch(self, jobs: list[_Job]) -> dict[str, _Outcome]:
        """Batch API: resume persisted batches, then submit the rest once, poll, ingest."""
        from openai import OpenAI

        workdir = self._batch_dir(jobs)
        workdir.mkdir(parents=True, exist_ok=True)
        state_path = workdir / "openai_batch_state.json"
        state = json.loads(state_path.read_text()) if state_path.exists() else {"batches": []}
        client = OpenAI(max_retries=self.config.max_retries, **self._client_kwargs())
        by_key = {j.key: j for j in jobs}
        outcomes: dict[str, _Outcome] = {}
        errors: dict[str, str] = {}
        try:
            for entry in state["batches"]:
                if not entry.get("ingested"):
                    print(
                        f"openai judge: resuming batch {entry['id']} (not resubmitting)", flush=True
                    )
                    self._poll_and_ingest(client, entry, state, state_path, outcomes, errors)
            todo = [j for k, j in by_key.items() if k not in outcomes and not self.cache.get(k)]
            new_entries = []
            for n0 in range(0, len(todo), BATCH_MAX_REQUESTS):
                chunk = todo[n0 : n0 + BATCH_MAX_REQUESTS]
                n = len(state["batches"])
                input_path = workdir / f"openai_batch_input_{n:03d}.jsonl"
                with open(input_path, "w", encoding="utf-8") as f:
                    for j in chunk:
                        line = {
                            "custom_id": j.key,
                            "method": "POST",
                            "url": "/v1/chat/completions",
                            "body": self._request_body(j),
                        }
                        f.write(json.dumps(line, ensure_ascii=False) + "\n")
                with open(input_path, "rb") as f:
                    self.stats.api_calls += 1
                    uploaded = client.files.create(file=(input_path.name, f), purpose="batch")
                self.stats.api_calls += 1
                batch = client.batches.create(
                    input_file_id=uploaded.id,
                    endpoint="/v1/chat/completions",
                    completion_window="24h",
                    metadata={"created_by": "allroads openai judge"},
                )
                entry = {
                    "id": batch.id,
                    "input_file_id": uploaded.id,
                    "input_path": input_path.name,
                    "n_requests": len(chunk),
                    "created_at": time.time(),
                    "ingested": False,
                }
                state["batches"].append(entry)
                _write_json_atomic(state_path, state)  # persisted BEFORE any polling
                print(
                    f"openai judge: submitted batch {batch.id} ({len(chunk)} requests)", flush=True
                )
                new_entries.append(entry)
            for entry in new_entries:
                self._poll_and_ingest(client, entry, state, state_path, outcomes, errors)
        finally:
            if self._http_client is None:
                client.close()
        for k in by_key:
            if k not in outcomes:
                hit = self.cache.get(k)
                if hit is not None:
                    outcomes[k] = _Outcome(raw=hit["raw"], meta=hit["meta"])
                else:
                    default = errors.get("__batch__", "missing from the batch output")
                    outcomes[k] = _Outcome(error=errors.get(k, default))
        return outcomes

    def _poll_and_ingest(
        self,
        client: Any,
        entry: dict[str, Any],
        state: dict[str, Any],
        state_path: Path,
        outcomes: dict[str, _Outcome],
        errors: dict[str, str],
    ) -> None:
        """Poll batch ``entry`` until it ends, then join its output on ``custom_id`` into the cache."""
        while True:
            self.stats.api_calls += 1
            batch = client.batches.retrieve(entry["id"])
            counts = getattr(batch, "request_counts", None)
            done = (
                f"{counts.completed}/{counts.total} done, {counts.failed} failed" if counts else ""
            )
            log.info("batch %s: %s %s", batch.id, batch.status, done)
            if batch.status in _TERMINAL_BATCH:
                break
            self._sleep(self.config.batch_poll_s)
        print(f"openai judge: batch {batch.id} ended: {batch.status} {done}", flush=True)
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            self.stats.api_calls += 1
            text = client.files.content(file_id).text
            for line in text.splitlines():
                if line.strip():
                    self._ingest_line(json.loads(line), outcomes, errors)
        if batch.status != "completed":
            reason = f"batch {batch.id} ended with status {batch.status}"
            if getattr(batch, "errors", None) and batch.errors.data:
                reason += ": " + "; ".join(str(e.message) for e in batch.errors.data[:3])
            errors.setdefault("__batch__", reason)
        entry.update(ingested=True, status=batch.status)
        _write_json_atomic(state_path, state)

    def _ingest_line(
        self, line: dict[str, Any], outcomes: dict[str, _Outcome], errors: dict[str, str]
    ) -> None:
        key = line.get("custom_id")
        if not isinstance(key, str):
            return
        response = line.get("response") or {}
        if line.get("error") or response.get("status_code") != 200:
            err = line.get("error") or (response.get("body") or {}).get("error")
            errors[key] = f"batch request failed: HTTP {response.get('status_code')}: {err}"
            return
        try:
            raw, meta = _reply_from_body(response.get("body"))
        except _MalformedReply as e:
            errors[key] = f"batch request returned a malformed reply: {e}"
            return
        meta["batch_request_id"] = response.get("request_id")
        self._store(key, raw, meta)
        outcomes[key] = _Outcome(raw=raw, meta=meta)


def _short(e: BaseException, limit: int = 300) -> str:
    text = str(e).replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "..."


def _write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


__all__ = [
    "BudgetExceededError",
    "CostEstimate",
    "JudgeAPIError",
    "JudgeConfigError",
    "JudgeStats",
    "OpenAIJudge",
    "OpenAIJudgeConfig",
    "candidate_is_a",
    "retry_delay",
]
