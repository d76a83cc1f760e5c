"""Fault handling of the openai judge against a scripted loopback server.

The faulty server answers the first attempts of some prompts with 429 + Retry-After, 500, a reply
slower than the timeout, truncated JSON or a connection dropped mid-body, gives two prompts an
off-format first reply (re-asked once, then answered) and two an off-format reply every time.
The run must complete; every verdict whose final reply equals the fault-free server's must equal
the fault-free verdict; the always-off-format ones must be invalid after ``format_retries``
re-asks, every reply kept, and the invalids and re-asks counted in the winrate table.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from judge_fake_server import FakeJudgeServer, FakeResponse, completion, good_reply, prompt_of  # noqa: E402

from allroads.judging.base import Comparison  # noqa: E402
from allroads.judging.openai_judge import OpenAIJudge  # noqa: E402
from allroads.winrate import per_seed_table  # noqa: E402

N = 24
OFF_FORMAT = {5, 17}  # off-format every time: invalid after the re-asks
FIRST_OFF = {11, 23}  # off-format once: the re-ask gets a valid reply
FORMAT_RETRIES = 2
RETRY_AFTER_S = 0.3
TIMEOUT_S = 1.0
OFF_TEXT = "Honestly both summaries are okay; I cannot decide between them."


def comps() -> list[Comparison]:
    out = []
    for i in range(N):
        good_side = i % 3 != 0  # mix of candidate and reference wins
        cand = f"policy summary {i}" + (" good" if good_side else "")
        ref = f"reference summary {i} with more words" + ("" if good_side else " good")
        out.append(
            Comparison(str(i), f"p{i}", f"Post {i}: a forum post about topic {i}.", cand, ref)
        )
    return out


def topic(body) -> int:
    return int(re.search(r"about topic (\d+)\.", prompt_of(body)).group(1))


def faulty(body, attempt: int) -> FakeResponse:
    i = topic(body)
    if i in OFF_FORMAT or (i in FIRST_OFF and attempt == 0):
        return FakeResponse(body=completion(OFF_TEXT))
    kind = i % 6
    if kind == 0 and attempt == 0:
        return FakeResponse(
            429, {"error": {"message": "rate limited"}}, {"Retry-After": str(RETRY_AFTER_S)}
        )
    if kind == 1 and attempt < 2:
        return FakeResponse(500, {"error": {"message": "internal error"}})
    if kind == 2 and attempt == 0:
        return _slow(body)  # slower than the timeout
    if kind == 3 and attempt == 0:
        full = json.dumps(good_reply(body).body).encode()
        return FakeResponse(body=full[: len(full) // 2])  # complete HTTP, truncated JSON
    if kind == 4 and attempt == 0:
        return FakeResponse(body=good_reply(body).body, drop_after=40)  # connection dropped
    return good_reply(body)


def _slow(body) -> FakeResponse:
    r = good_reply(body)
    r.delay_s = TIMEOUT_S * 2.5
    return r


def run(handler, tmp_path: Path, name: str):
    with FakeJudgeServer(handler) as srv:
        judge = OpenAIJudge.from_config(
            {
                "model": "fake-judge",
                "base_url": srv.base_url,
                "cache": str(tmp_path / f"{name}.sqlite"),
                "timeout_s": TIMEOUT_S,
                "max_retries": 4,
                "concurrency": 8,
                "format_retries": FORMAT_RETRIES,
            },
            seed=1,
            workdir=tmp_path / name,
            progress=False,
        )
        verdicts = judge.judge(comps())
        n_first = srv.n_requests
        rerun = judge.judge(comps())
        assert srv.n_requests == n_first, "a rerun must not send any request"
        assert [v.score for v in rerun] == [v.score for v in verdicts]
        assert [v.meta.get("replies") for v in rerun] == [v.meta.get("replies") for v in verdicts]
        return verdicts, judge.stats, srv


@pytest.fixture(autouse=True)
def _no_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def table(verdicts, exclude=()):
    rows = [
        {**v.to_row(), "size": "1b", "seed": 0, "policy": "dpo"}
        for v in verdicts
        if v.id not in exclude
    ]
    return per_seed_table(rows)


def test_faults_complete_and_match_the_fault_free_run(tmp_path):
    clean, clean_stats, _ = run(good_reply, tmp_path, "clean")
    assert clean_stats.retries == 0 and all(v.score is not None for v in clean)
    assert {v.score for v in clean} == {0.0, 1.0}

    faults, stats, srv = run(faulty, tmp_path, "faulty")
    assert len(faults) == N and stats.failed == 0
    for c, f in zip(clean, faults, strict=True):
        if int(f.id) in OFF_FORMAT:
            assert f.score is None and f.raw == OFF_TEXT
            assert f.meta["invalid_reason"] == "unparseable_reply"
            assert f.meta["format_retries"] == FORMAT_RETRIES
            assert f.meta["replies"] == [OFF_TEXT] * (1 + FORMAT_RETRIES)  # every reply kept
        elif int(f.id) in FIRST_OFF:  # re-asked once: a valid verdict, the first reply kept
            assert f.score == c.score and f.raw == c.raw
            assert f.meta["format_retries"] == 1 and f.meta["replies"] == [OFF_TEXT, c.raw]
        else:  # same final reply, same verdict
            assert f.meta["format_retries"] == 0 and "replies" not in f.meta
            assert f.raw == c.raw and f.score == c.score, f.id
            assert f.meta["candidate_is_A"] == c.meta["candidate_is_A"]

    # every fault kind was hit and retried
    expected_retries = sum(
        {0: 1, 1: 2, 2: 1, 3: 1, 4: 1}.get(i % 6, 0) for i in range(N) if i not in OFF_FORMAT
    )
    assert stats.retries == expected_retries
    reasks = FORMAT_RETRIES * len(OFF_FORMAT) + len(FIRST_OFF)
    assert stats.http_attempts == N + expected_retries + reasks
    # Retry-After is honoured: the retry of a 429 comes no sooner than the server asked
    for prompt, times in srv.times.items():
        i = int(re.search(r"about topic (\d+)\.", prompt).group(1))
        if i % 6 == 0 and i not in OFF_FORMAT:
            assert len(times) == 2 and times[1] - times[0] >= RETRY_AFTER_S - 0.02
        if i % 6 == 1 and i not in OFF_FORMAT:  # exponential backoff after 500s
            assert len(times) == 3 and times[2] - times[1] > times[1] - times[0] > 0.3

    # the table equals the fault-free one where the final replies agree, invalids are counted
    t_faults, t_clean = table(faults), table(clean)
    assert t_faults.loc[0, "n_invalid"] == len(OFF_FORMAT) and t_clean.loc[0, "n_invalid"] == 0
    assert t_faults.loc[0, "n_valid"] == N - len(OFF_FORMAT)
    assert t_faults.loc[0, "n_retried"] == len(OFF_FORMAT) + len(FIRST_OFF)
    assert t_faults.loc[0, "n_retries"] == reasks and t_clean.loc[0, "n_retries"] == 0
    off = {str(i) for i in OFF_FORMAT}
    same = table(clean, exclude=off)
    assert t_faults.loc[0, "winrate"] == pytest.approx(same.loc[0, "winrate"])
    assert t_faults.loc[0, "se_prompts"] == pytest.approx(same.loc[0, "se_prompts"])
