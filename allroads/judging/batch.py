"""The Batch API path of the request client (``judge.openai.mode: batch``): half price, resumable.

:class:`BatchRunner` writes the pending requests as JSONL (``custom_id`` = the cache key), uploads
it, creates one batch per ``BATCH_MAX_REQUESTS`` requests, and persists each batch id in
``openai_batch_state.json`` in the workdir *before* polling, so a crashed or killed run resumes
the batches it paid for instead of resubmitting. Finished batches' output and error files are
joined on ``custom_id``; every good reply goes to the reply cache through the client's ``store``.
Built per call by :class:`allroads.judging.client.RequestClient`, which owns the cache, the
budget check and the re-ask rounds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..io import write_text
from .cache import ReplyCache
from .openai_config import BATCH_MAX_REQUESTS, OpenAIJudgeConfig
from .wire import MalformedReply, Reply, Request, RequestStats, reply_from_body

log = logging.getLogger(__name__)

TERMINAL_BATCH = {"completed", "failed", "expired", "cancelled"}
STATE_FILE = "openai_batch_state.json"


def _write_state(path: Path, state: dict[str, Any]) -> None:
    write_text(path, json.dumps(state, indent=1))


class BatchRunner:
    """Send requests through the Batch API for one :class:`RequestClient` call."""

    def __init__(
        self,
        config: OpenAIJudgeConfig,
        cache: ReplyCache,
        stats: RequestStats,
        *,
        workdir: Path | None,
        store: Callable[[str, str, dict[str, Any]], None],
        body: Callable[[Request], dict[str, Any]],
        openai_kwargs: Callable[[], dict[str, Any]],
        sleep: Callable[[float], None],
        close_client: bool,
    ):
        """``store(key, raw, meta)`` caches a reply and counts its tokens; ``body(request)`` is
        the chat request body; ``openai_kwargs()`` the ``openai.OpenAI`` arguments (key,
        endpoint, timeout, http client); ``close_client``: close the client when done (it was
        made here, not handed in)."""
        self.config = config
        self.cache = cache
        self.stats = stats
        self.workdir = workdir
        self.store = store
        self.body = body
        self.openai_kwargs = openai_kwargs
        self.sleep = sleep
        self.close_client = close_client

    def folder(self, requests: list[Request]) -> Path:
        """Where the batch state and input files live: the workdir, else a folder per set of
        requests next to the cache."""
        if self.workdir is not None:
            return self.workdir
        digest = hashlib.sha256("\n".join(sorted(r.key for r in requests)).encode()).hexdigest()
        return self.cache.path.parent / "openai_batches" / digest[:16]

    def submitted_keys(self, requests: list[Request]) -> set[str]:
        """custom_ids of persisted batches of this folder that were not ingested yet."""
        folder = self.folder(requests)
        state_path = folder / STATE_FILE
        if not state_path.exists():
            return set()
        keys: set[str] = set()
        for entry in json.loads(state_path.read_text())["batches"]:
            path = folder / entry.get("input_path", "")
            if not entry.get("ingested") and path.is_file():
                with open(path, encoding="utf-8") as f:
                    keys.update(json.loads(line)["custom_id"] for line in f if line.strip())
        return keys

    def run(self, requests: list[Request]) -> dict[str, Reply]:
        """Resume persisted batches, then submit the rest once, poll, ingest."""
        from openai import OpenAI

        folder = self.folder(requests)
        folder.mkdir(parents=True, exist_ok=True)
        state_path = folder / STATE_FILE
        state = json.loads(state_path.read_text()) if state_path.exists() else {"batches": []}
        client = OpenAI(max_retries=self.config.max_retries, **self.openai_kwargs())
        by_key = {r.key: r for r in requests}
        replies: dict[str, Reply] = {}
        errors: dict[str, str] = {}
        try:
            for entry in state["batches"]:
                if not entry.get("ingested"):
                    print(
                        f"openai judge: resuming batch {entry['id']} (not resubmitting)", flush=True
                    )
                    self._poll_and_ingest(client, entry, state, state_path, replies, errors)
            todo = [r for k, r in by_key.items() if k not in replies and not self.cache.get(k)]
            new_entries = []
            for n0 in range(0, len(todo), BATCH_MAX_REQUESTS):
                chunk = todo[n0 : n0 + BATCH_MAX_REQUESTS]
                entry = self._submit(client, folder, len(state["batches"]), chunk)
                state["batches"].append(entry)
                _write_state(state_path, state)  # persisted BEFORE any polling
                print(
                    f"openai judge: submitted batch {entry['id']} ({len(chunk)} requests)",
                    flush=True,
                )
                new_entries.append(entry)
            for entry in new_entries:
                self._poll_and_ingest(client, entry, state, state_path, replies, errors)
        finally:
            if self.close_client:
                client.close()
        for k in by_key:
            if k not in replies:
                hit = self.cache.get(k)
                if hit is not None:
                    replies[k] = Reply(raw=hit["raw"], meta=hit["meta"])
                else:
                    default = errors.get("__batch__", "missing from the batch output")
                    replies[k] = Reply(error=errors.get(k, default))
        return replies

    def _submit(self, client: Any, folder: Path, n: int, chunk: list[Request]) -> dict[str, Any]:
        """Write batch ``n``'s JSONL, upload it, create the batch; its state entry."""
        input_path = folder / f"openai_batch_input_{n:03d}.jsonl"
        with open(input_path, "w", encoding="utf-8") as f:
            for r in chunk:
                line = {
                    "custom_id": r.key,
                    "method": "POST",
                    "url": "/v1/chat/completions",
                    "body": self.body(r),
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
        return {
            "id": batch.id,
            "input_file_id": uploaded.id,
            "input_path": input_path.name,
            "n_requests": len(chunk),
            "created_at": time.time(),
            "ingested": False,
        }

    def _poll_and_ingest(
        self,
        client: Any,
        entry: dict[str, Any],
        state: dict[str, Any],
        state_path: Path,
        replies: dict[str, Reply],
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
            if batch.status in TERMINAL_BATCH:
                break
            self.sleep(self.config.batch_poll_s)
        print(f"openai judge: batch {batch.id} ended: {batch.status} {done}", flush=True)
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            self.stats.api_calls += 1
            text = client.files.content(file_id).text
            for line in text.splitlines():
                if line.strip():
                    self._ingest_line(json.loads(line), replies, errors)
        if batch.status != "completed":
            reason = f"batch {batch.id} ended with status {batch.status}"
            if getattr(batch, "errors", None) and batch.errors.data:
                reason += ": " + "; ".join(str(e.message) for e in batch.errors.data[:3])
            errors.setdefault("__batch__", reason)
        entry.update(ingested=True, status=batch.status)
        _write_state(state_path, state)

    def _ingest_line(
        self, line: dict[str, Any], replies: dict[str, Reply], errors: dict[str, str]
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
            raw, meta = reply_from_body(response.get("body"))
        except MalformedReply as e:
            errors[key] = f"batch request returned a malformed reply: {e}"
            return
        meta["batch_request_id"] = response.get("request_id")
        self.store(key, raw, meta)
        replies[key] = Reply(raw=raw, meta=meta)
