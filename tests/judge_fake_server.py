"""A fake OpenAI-compatible chat-completions server on loopback, for judge tests and the bench.

It runs an asyncio HTTP/1.1 server (keep-alive, stdlib only) in a daemon thread, bound to
127.0.0.1 on a free port. Every ``POST .../chat/completions`` goes through ``handler(body,
attempt)`` where ``attempt`` counts earlier requests with the same prompt text (0 for the first),
so tests can script faults for the first attempts and a normal reply afterwards. The server
never records request headers (they carry the API key).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_SUMMARY = re.compile(r"### Summary A:\n(.*?)\n\n### Summary B:\n(.*?)\n\n### Instructions:", re.S)


@dataclass
class FakeResponse:
    """What the server answers: ``status``, ``body`` (bytes or a JSON-able object), extra
    ``headers``, a ``delay_s`` before answering, and ``drop_after`` bytes (send that many body
    bytes of a longer announced body, then close: a connection dropped mid-reply)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop_after: int | None = None


def prompt_of(body: dict[str, Any]) -> str:
    return body["messages"][-1]["content"]


def summaries_of(prompt: str) -> tuple[str, str]:
    m = _SUMMARY.search(prompt)
    if not m:
        raise ValueError("prompt does not contain the judge template's summaries")
    return m.group(1), m.group(2)


def preferred_letter(prompt: str) -> str:
    """A position-independent toy preference: the summary containing "good", else the longer one."""
    a, b = summaries_of(prompt)
    ka, kb = ("good" in a, len(a)), ("good" in b, len(b))
    return "A" if ka >= kb else "B"


def completion(content: str, model: str = "fake-judge") -> dict[str, Any]:
    """A minimal chat.completion object."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


def good_reply(body: dict[str, Any], attempt: int = 0) -> FakeResponse:
    """The fault-free judge: a one-sentence comparison and ``Preferred: <letter>``."""
    letter = preferred_letter(prompt_of(body))
    text = f"Comparison: Summary {letter} covers the post better.\nPreferred: {letter}"
    return FakeResponse(body=completion(text, body.get("model", "fake-judge")))


class FakeJudgeServer:
    """``with FakeJudgeServer(handler, latency_s=0.05) as srv: srv.base_url ...``"""

    def __init__(
        self,
        handler: Callable[[dict[str, Any], int], FakeResponse] = good_reply,
        latency_s: float = 0.0,
    ):
        self.handler = handler
        self.latency_s = latency_s
        self.n_requests = 0
        self.paths: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()
        self.times: dict[str, list[float]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeJudgeServer:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake judge server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
            try:
                fut.result(5)
            except Exception:
                pass
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)

    async def _shutdown(self) -> None:
        """Close the listener and cancel the open connections' handlers."""
        if self._server is not None:
            self._server.close()
        me = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not me]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def __enter__(self) -> FakeJudgeServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, host="127.0.0.1", port=0, backlog=1024)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                raw = await reader.readexactly(length) if length else b""
                self.n_requests += 1
                self.paths[f"{method} {path}"] += 1
                resp = self._respond(method, path, raw)
                delay = self.latency_s + resp.delay_s
                if delay:
                    await asyncio.sleep(delay)
                body = resp.body
                if not isinstance(body, bytes):
                    body = json.dumps(body).encode()
                announced = len(body)
                if resp.drop_after is not None:
                    body = body[: resp.drop_after]
                headers = {
                    "Content-Type": "application/json",
                    "Content-Length": str(announced),
                    "Connection": "keep-alive",
                    **resp.headers,
                }
                reason = {200: "OK", 429: "Too Many Requests", 500: "Internal Server Error"}
                out = f"HTTP/1.1 {resp.status} {reason.get(resp.status, 'Status')}\r\n"
                out += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
                writer.write(out.encode("latin-1") + body)
                await writer.drain()
                if resp.drop_after is not None:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            try:
                writer.close()
            except Exception:
                pass

    def _respond(self, method: str, path: str, raw: bytes) -> FakeResponse:
        if method != "POST" or not path.rstrip("/").endswith("/chat/completions"):
            return FakeResponse(404, {"error": {"message": f"no route {method} {path}"}})
        body = json.loads(raw)
        prompt = prompt_of(body)
        attempt = self.attempts[prompt]
        self.attempts[prompt] += 1
        self.times.setdefault(prompt, []).append(time.monotonic())
        return self.handler(body, attempt)
