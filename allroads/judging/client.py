"""The request client under every role gpt-4o plays: cached, budgeted, retried, sync or batch.

:class:`RequestClient` sends :class:`~allroads.judging.wire.Request` s (one user message each) to
an OpenAI-compatible chat-completions endpoint through the official ``openai`` client. The roles
sit on top of its public API: the judge (:mod:`allroads.judging.openai_judge`: comparisons to
verdicts) and the summary writer (:mod:`allroads.judging.writer`). For each call of :meth:`ask`:

1. every request is looked up in the SQLite reply cache (:mod:`allroads.judging.cache`) under its
   key, a content hash the role computes over everything that shapes the reply;
2. the client prints the number of requests still to send, an estimate of the tokens and
   dollars, and refuses to start when the estimate exceeds ``judge.openai.max_usd``;
3. it sends the misses either concurrently (``mode: sync``: ``AsyncOpenAI``, a semaphore of
   ``concurrency`` requests, our own retries with exponential backoff honouring ``Retry-After``
   (the ``openai`` client's are off, ``max_retries=0``: ours count every attempt in
   :class:`~allroads.judging.wire.RequestStats` and log each wait), an explicit timeout) or
   through the Batch API (``mode: batch``, :mod:`allroads.judging.batch`), storing each final
   raw reply;
4. a reply the role cannot parse is re-asked (the same request, its own cache key,
   :func:`~allroads.judging.cache.reask_key`) up to ``format_retries`` times, one round per
   re-ask, each round through the cache, the budget check and the sync or batch path.

Requests that still fail after all retries are never cached and, by default (``on_error:
raise``), :meth:`raise_failed` fails the run after every successful reply has been cached, so a
rerun sends only the failed ones. The API key is read from ``OPENAI_API_KEY`` only and never
logged, stored or put into a reply.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import Any

from .batch import BatchRunner
from .cache import ReplyCache, reask_key
from .openai_config import (
    BATCH_DISCOUNT,
    LOCAL_DUMMY_KEY,
    BudgetExceededError,
    JudgeAPIError,
    JudgeConfigError,
    OpenAIJudgeConfig,
)
from .wire import (
    CostEstimate,
    MalformedReply,
    Reply,
    Request,
    RequestStats,
    reply_from_body,
    retry_delay,
    short,
)

log = logging.getLogger(__name__)

FATAL_STATUS = {401, 403, 404}  # wrong key, no access, unknown model: abort the whole run
RETRY_STATUS = {408, 409, 429}  # plus every 5xx
KINDS = {"judge": "judging", "writing": "writing"}  # request kind -> the progress bar's label


def run_coroutine(coro):
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


@dataclass
class Answers:
    """What :meth:`RequestClient.ask` got: ``replies[key]`` = the first reply to the request
    ``key`` and its re-asks, in order; cache hits and requests pending over every round; the
    keys whose last request failed."""

    replies: dict[str, list[Reply]]
    cache_hits: int
    pending: int
    failed: list[str]

    def tries(self, key: str) -> list[Reply]:
        """The replies to ``key`` in order (one error reply when it got none)."""
        return self.replies.get(key) or [Reply(error="no reply")]


class RequestClient:
    """Chat requests to any OpenAI-compatible endpoint, cached and budgeted (module doc)."""

    def __init__(
        self,
        config: OpenAIJudgeConfig,
        *,
        kind: str = "judge",
        workdir: str | os.PathLike | None = None,
        http_client: Any = None,
        progress: bool | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        """``kind``: ``judge`` or ``writing``, as named in messages and the progress bar.
        ``http_client``: an ``httpx2.AsyncClient`` (sync mode) or ``httpx2.Client`` (batch mode)
        handed to the ``openai`` client, e.g. with a mock transport in tests. ``progress``:
        show a tqdm bar on stderr (default: yes; every 10 s when stderr is a log file).
        ``sleep``: used between batch polls.
        """
        if kind not in KINDS:
            raise ValueError(f"request kind {kind!r} is not one of {sorted(KINDS)}")
        self.config = config
        self.kind = kind
        self.workdir = Path(workdir) if workdir is not None else None
        cache_path = config.cache or (
            str(self.workdir / "openai_judge_cache.sqlite")
            if self.workdir is not None
            else ".cache/allroads/openai_judge.sqlite"
        )
        self.cache = ReplyCache(cache_path)
        self.stats = RequestStats()
        self.http_client = http_client
        self.progress = True if progress is None else progress
        self.sleep = sleep

    # ------------------------------------------------------------------ public

    def ask(self, requests: dict[str, Request], parses: Callable[[str | None], bool]) -> Answers:
        """Replies to ``requests`` (key -> request), each unparseable one (``parses`` false)
        asked again up to ``format_retries`` times, one round per re-ask; every round goes
        through the cache (re-asks have their own keys, :func:`reask_key`), the budget check
        and the sync or batch path like the first."""
        self.stats.requests_needed += len(requests)
        got, n_hits, n_pending, usd = self._answer(requests, round_=0, usd_before=0.0)
        # (a resumed batch may bring replies of other requests: only this call's are used)
        replies: dict[str, list[Reply]] = {k: [got[k]] for k in requests if k in got}
        for r in range(1, self.config.format_retries + 1):
            redo = {
                reask_key(k, r): dc_replace(requests[k], key=reask_key(k, r))
                for k, tries in replies.items()
                if tries[-1].error is None and not parses(tries[-1].raw)
            }
            if not redo:
                break
            base = {reask_key(k, r): k for k in replies}
            got, hits_r, pending_r, usd = self._answer(redo, round_=r, usd_before=usd)
            n_hits, n_pending = n_hits + hits_r, n_pending + pending_r
            self.stats.format_retries += len(redo)
            for rk, o in got.items():
                if rk in base:
                    replies[base[rk]].append(o)
        failed = [k for k, tries in replies.items() if tries[-1].error is not None]
        self.stats.failed += len(failed)
        return Answers(replies, n_hits, n_pending, failed)

    def raise_failed(self, answers: Answers) -> None:
        """``on_error: raise``: fail once every successful reply is cached (a rerun sends only
        the failed requests)."""
        cfg, failed, n_pending = self.config, answers.failed, answers.pending
        if failed and cfg.on_error == "raise":
            first = answers.replies[failed[0]][-1].error
            raise JudgeAPIError(
                f"{len(failed)} of {n_pending} {self.kind} requests failed after "
                f"judge.openai.max_retries={cfg.max_retries} retries (first error: {first}); the "
                f"{n_pending - len(failed)} successful replies are cached, rerun to retry the "
                f"rest (or set judge.openai.on_error: invalid to record them as invalid)"
            )

    def estimate_cost(self, requests: list[Request], n_cached: int = 0) -> CostEstimate:
        """Token and dollar estimate for ``requests``: ~4 characters per input token (+8 per
        message), ``max_tokens`` output tokens per request (an upper bound)."""
        cfg = self.config
        n_in = sum(math.ceil(len(r.prompt) / 4) + 8 for r in requests)
        n_out = cfg.max_tokens * len(requests)
        usd = (n_in * cfg.price_input_per_mtok + n_out * cfg.price_output_per_mtok) / 1e6
        batch = cfg.mode == "batch"
        if batch:
            usd *= BATCH_DISCOUNT
        return CostEstimate(
            comparisons=len({r.index for r in requests}),
            requests=len(requests),
            cached=n_cached,
            input_tokens=n_in,
            output_tokens=n_out,
            usd=usd,
            batch=batch,
        )

    def request_body(self, request: Request) -> dict[str, Any]:
        """The chat-completions body of ``request`` (also a Batch API line's ``body``)."""
        return {
            "model": self.config.model,
            "messages": [{"role": "user", "content": request.prompt}],
            **self.config.decoding,
            **request.params,
        }

    def close(self) -> None:
        self.cache.close()

    # ---------------------------------------------------------------- a round

    def _answer(
        self, requests: dict[str, Request], round_: int, usd_before: float
    ) -> tuple[dict[str, Reply], int, int, float]:
        """Replies to ``requests`` (key -> request): from the cache, else sent (sync or batch)
        after the cost check. Round 0 = the first ask, round r = the r-th re-ask of unparseable
        replies. Returns (replies, cache hits, requests pending, estimated USD so far)."""
        cfg = self.config
        what = "" if round_ == 0 else f" re-ask {round_} of unparseable replies:"
        hits = self.cache.get_many(requests)
        replies: dict[str, Reply] = {
            k: Reply(raw=v["raw"], meta=v["meta"], cached=True) for k, v in hits.items()
        }
        pending = [r for k, r in requests.items() if k not in hits]
        self.stats.cache_hits += len(hits)
        if not pending:
            print(
                f"openai judge ({cfg.model}):{what} all {len(requests)} requests cached; "
                f"no API call",
                flush=True,
            )
            return replies, len(hits), 0, usd_before
        self._api_key()  # a missing OPENAI_API_KEY fails here: one message, nothing written
        # requests already in a submitted (persisted) batch are paid for: not re-estimated
        batch = self._batch_runner() if cfg.mode == "batch" else None
        submitted = batch.submitted_keys(pending) if batch is not None else set()
        to_send = [r for r in pending if r.key not in submitted]
        estimate = self.estimate_cost(to_send, n_cached=len(hits))
        if submitted:
            print(
                f"openai judge: {len(pending) - len(to_send)} requests are in an already "
                f"submitted batch; resuming it",
                flush=True,
            )
        print(f"{estimate.message(cfg.model, self.kind)}{what}", flush=True)
        log.info("%s%s", estimate.message(cfg.model, self.kind), what)
        usd = usd_before + estimate.usd
        if cfg.max_usd is not None and usd > cfg.max_usd:
            reask = (
                ""
                if round_ == 0
                else f" (with re-ask {round_} of {len(requests)} unparseable replies; the replies "
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
        if batch is not None:
            replies.update(batch.run(pending))
        else:
            replies.update(run_coroutine(self._run_async(pending)))
        return replies, len(hits), len(pending), usd

    # ----------------------------------------------------------------- helpers

    def _batch_runner(self) -> BatchRunner:
        return BatchRunner(
            self.config,
            self.cache,
            self.stats,
            workdir=self.workdir,
            store=self._store,
            body=self.request_body,
            openai_kwargs=self._client_kwargs,
            sleep=self.sleep,
            close_client=self.http_client is None,
        )

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
        if self.http_client is not None:
            kwargs["http_client"] = self.http_client
        return kwargs

    def _store(self, key: str, raw: str, meta: dict[str, Any]) -> None:
        self.cache.put(key, model=self.config.model, raw=raw, meta=meta)
        self.stats.prompt_tokens += meta.get("prompt_tokens") or 0
        self.stats.completion_tokens += meta.get("completion_tokens") or 0

    # -------------------------------------------------------------- sync mode

    async def _run_async(self, requests: list[Request]) -> dict[str, Reply]:
        from openai import AsyncOpenAI
        from tqdm.auto import tqdm

        client = AsyncOpenAI(max_retries=0, **self._client_kwargs())
        sem = asyncio.Semaphore(self.config.concurrency)
        replies: dict[str, Reply] = {}

        async def one(request: Request) -> None:
            async with sem:
                replies[request.key] = await self._request_with_retries(client, request)

        bar = tqdm(
            total=len(requests),
            desc=f"{KINDS[self.kind]} ({self.config.model})",
            unit="req",
            disable=not self.progress,
            mininterval=0.5 if sys.stderr.isatty() else 10.0,  # sparse updates in job logs
        )
        tasks = [asyncio.create_task(one(r)) for r in requests]
        try:
            for fut in asyncio.as_completed(tasks):
                await fut  # a fatal error (bad key, unknown model) propagates from here
                bar.update(1)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            bar.close()
            if self.http_client is None:
                await client.close()
        return replies

    async def _request_with_retries(self, client: Any, request: Request) -> Reply:
        import openai

        body = self.request_body(request)
        last_error = "no attempt"
        attempts = self.config.max_retries + 1
        for attempt in range(attempts):
            self.stats.http_attempts += 1
            self.stats.api_calls += 1
            headers = None
            try:
                reply = await client.chat.completions.create(**body)
                raw, meta = reply_from_body(reply)
            except openai.APIStatusError as e:
                if e.status_code in FATAL_STATUS:
                    raise JudgeAPIError(
                        f"the judge endpoint answered {e.status_code} ({type(e).__name__}) for model "
                        f"{self.config.model!r}: check OPENAI_API_KEY, judge.openai.model and "
                        f"judge.openai.base_url"
                    ) from None
                last_error = f"HTTP {e.status_code}: {short(e)}"
                if e.status_code not in RETRY_STATUS and e.status_code < 500:
                    return Reply(error=last_error)  # e.g. 400: this request will never work
                headers = e.response.headers
            except (openai.APIConnectionError, json.JSONDecodeError, MalformedReply) as e:
                last_error = f"{type(e).__name__}: {short(e)}"
            else:
                meta["attempts"] = attempt + 1
                self._store(request.key, raw, meta)
                return Reply(raw=raw, meta=meta)
            if attempt + 1 < attempts:
                self.stats.retries += 1
                delay = retry_delay(attempt, headers)
                log.info(
                    "judge request failed (%s); retry %d in %.2fs", last_error, attempt + 1, delay
                )
                await asyncio.sleep(delay)
        log.warning("judge request failed after %d attempts: %s", attempts, last_error)
        return Reply(error=f"{last_error} (after {attempts} attempts)")
