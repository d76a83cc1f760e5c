"""A content-addressed SQLite cache of raw judge replies.

Every comparison sent to a judge model is keyed by :func:`comparison_key`, a SHA-256 over the
judge model, the prompt template text, the post, the two summaries *in presented order* and the
decoding parameters; every summary-writing request (:mod:`allroads.judging.writer`) by
:func:`writing_key`, over the model, the rendered prompt and the decoding parameters with the
API seed. The value is the model's raw reply text (plus usage metadata), never a
parsed verdict, so a changed parser is re-applied without any call. Only final replies are
stored: a request that failed (HTTP error, timeout, undecodable body) leaves no row, and is
retried by the next run.

The database runs in WAL mode with a busy timeout and ``INSERT OR IGNORE`` writes committed one
by one, so several processes (concurrent Snakemake jobs) can share one cache file without losing
rows. Nothing secret is stored: no headers, no API key.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

KEY_VERSION = "allroads-judge-cache-v1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS replies (
    key        TEXT PRIMARY KEY,
    model      TEXT NOT NULL,
    raw        TEXT NOT NULL,
    meta       TEXT NOT NULL,
    created_at REAL NOT NULL
)
"""


def comparison_key(
    *,
    model: str,
    template: str,
    post: str,
    summary_a: str,
    summary_b: str,
    decoding: Mapping[str, Any],
) -> str:
    """The hex SHA-256 content hash identifying one judge request.

    ``template`` is the template *text* (editing a template invalidates its entries);
    ``decoding`` holds the decoding parameters (temperature, max tokens, ...).
    """
    material = json.dumps(
        {
            "v": KEY_VERSION,
            "model": model,
            "template": template,
            "post": post,
            "summary_a": summary_a,
            "summary_b": summary_b,
            "decoding": dict(decoding),
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def writing_key(*, model: str, prompt: str, decoding: Mapping[str, Any]) -> str:
    """The hex SHA-256 content hash identifying one summary-writing request
    (:mod:`allroads.judging.writer`): the model, the rendered prompt (template and post) and the
    decoding parameters, the API ``seed`` included (two draws of one post are two keys)."""
    material = json.dumps(
        {"v": KEY_VERSION, "role": "write", "model": model, "prompt": prompt,
         "decoding": dict(decoding)},
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )  # fmt: skip
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def reask_key(key: str, attempt: int) -> str:
    """The cache key of re-ask number ``attempt`` (1, 2, ...) of the request ``key``: the same
    request sent again after an unparseable reply. Its own key, so every reply is kept and a
    rerun replays the whole sequence from the cache."""
    return hashlib.sha256(f"{KEY_VERSION}:{key}:format-retry:{int(attempt)}".encode()).hexdigest()


class ReplyCache:
    """Raw judge replies in one SQLite file, safe to share between processes."""

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 60.0):
        """The file (and its folder) is created by the first :meth:`put`, not here: a run that
        stops before its first reply (a missing API key, a budget refusal) leaves nothing."""
        self.path = Path(path)
        self._busy_timeout_s = busy_timeout_s
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connection(self, create: bool) -> sqlite3.Connection | None:
        """The open connection; opened (and with ``create``, the file made) on first use. None
        when the file does not exist and ``create`` is false. Call with ``self._lock`` held."""
        if self._conn is None:
            if not create and not self.path.exists():
                return None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                str(self.path),
                timeout=self._busy_timeout_s,
                check_same_thread=False,
                isolation_level=None,
            )
            conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_s * 1000)}")
            self._retry_locked(lambda: conn.execute("PRAGMA journal_mode=WAL"))
            conn.execute("PRAGMA synchronous=NORMAL")
            self._retry_locked(lambda: conn.execute(_SCHEMA))
            self._conn = conn
        return self._conn

    @staticmethod
    def _retry_locked(fn, attempts: int = 50):
        """Run ``fn``, retrying while another process holds a lock it cannot wait on."""
        for i in range(attempts):
            try:
                return fn()
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or i == attempts - 1:
                    raise
                time.sleep(0.05 * (i + 1))

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """``{key: {"raw": str, "meta": dict}}`` for the keys present in the cache."""
        keys = list(dict.fromkeys(keys))
        out: dict[str, dict[str, Any]] = {}
        with self._lock:
            conn = self._connection(create=False)
            if conn is None:
                return out
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT key, raw, meta FROM replies WHERE key IN ({marks})", chunk
                ).fetchall()
                for key, raw, meta in rows:
                    out[key] = {"raw": raw, "meta": json.loads(meta)}
        return out

    def get(self, key: str) -> dict[str, Any] | None:
        return self.get_many([key]).get(key)

    def put(self, key: str, *, model: str, raw: str, meta: Mapping[str, Any] | None = None) -> None:
        """Store a final reply; an existing row for ``key`` is kept (first writer wins)."""
        row = (key, model, raw, json.dumps(dict(meta or {}), sort_keys=True), time.time())
        with self._lock:
            conn = self._connection(create=True)
            self._retry_locked(
                lambda: conn.execute(
                    "INSERT OR IGNORE INTO replies (key, model, raw, meta, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    row,
                )
            )

    def __len__(self) -> int:
        with self._lock:
            conn = self._connection(create=False)
            return 0 if conn is None else conn.execute("SELECT COUNT(*) FROM replies").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> ReplyCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
