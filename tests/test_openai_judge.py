"""Unit and loopback tests of the openai judge: order swap, parser, cache keys, budget, batch
resume, key hygiene. The fault-injection tests live in test_judge_faults.py, the real
llama.cpp server in test_judge_real_server.py."""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import re
import sys
from dataclasses import asdict
from pathlib import Path

import httpx2
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from judge_fake_server import (  # noqa: E402
    FakeJudgeServer,
    FakeResponse,
    completion,
    good_reply,
    prompt_of,
    summaries_of,
)

from allroads import hub  # noqa: E402
from allroads.evaluation import judge_samples  # noqa: E402
from allroads.judged_pairs import judged_pairs  # noqa: E402
from allroads.judging import make_judge  # noqa: E402
from allroads.judging.base import Comparison  # noqa: E402
from allroads.judging.cache import ReplyCache, comparison_key  # noqa: E402
from allroads.judging.openai_config import (  # noqa: E402
    BudgetExceededError,
    JudgeAPIError,
    JudgeConfigError,
    OpenAIJudgeConfig,
)
from allroads.judging.openai_judge import OpenAIJudge, candidate_is_a  # noqa: E402
from allroads.judging.prompts import (  # noqa: E402
    STANDARD_TEMPLATE,
    TWO_WORD_TEMPLATE,
    parse_preference,
    render,
)
from allroads.judging.wire import retry_delay  # noqa: E402
from allroads.winrate import per_seed_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FAKE_KEY = "sk-test-DO-NOT-LEAK-7f3a9c2e11b4"
KEY_PARTS = ["DO-NOT-LEAK", "7f3a9c2e11b4"]  # fragments of the key: partial leaks count too


def comparisons(n: int, good: str = "candidate") -> list[Comparison]:
    """``n`` comparisons where the fake server's preferred side ("good" in it) is ``good``."""
    out = []
    for i in range(n):
        cand = f"policy summary {i}" + (" good" if good == "candidate" else "")
        ref = f"reference summary {i}" + (" good" if good == "reference" else "")
        out.append(
            Comparison(str(i), f"p{i}", f"Post {i}: a forum post about topic {i}.", cand, ref)
        )
    return out


def make(
    server: FakeJudgeServer | None, tmp_path: Path, seed: int = 0, http_client=None, **cfg
) -> OpenAIJudge:
    base = {
        "model": "fake-judge",
        "base_url": server.base_url if server else "http://127.0.0.1:9/v1",
        "cache": str(tmp_path / "cache.sqlite"),
        "timeout_s": 5,
        "max_retries": 2,
    }
    base.update(cfg)
    return OpenAIJudge.from_config(
        base, seed=seed, workdir=tmp_path / "work", progress=False, http_client=http_client
    )


@pytest.fixture(autouse=True)
def _no_real_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


# ----------------------------------------------------------------------------- prompts, parser


def test_templates_are_the_papers_text():
    for t in (STANDARD_TEMPLATE, TWO_WORD_TEMPLATE):
        assert t.count("{{post}}") == t.count("{{summarya}}") == t.count("{{summaryb}}") == 1
        assert t.endswith(
            'Comparison: <one-sentence comparison and explanation>\nPreferred: <"A" or "B">'
        )
        assert "explaining which you prefer and why" in t
        assert "Judge based on accuracy, coverage, and coherence." in t
    assert STANDARD_TEMPLATE.startswith("Which of the following summaries does a better job")
    assert TWO_WORD_TEMPLATE.startswith(
        "Which of the following two-word summaries does a better job"
    )
    # rendering is single-pass: placeholder text inside a post is left alone
    out = render(STANDARD_TEMPLATE, "my post says {{summarya}}", "AAA", "BBB")
    assert "my post says {{summarya}}" in out and "### Summary A:\nAAA\n" in out
    assert summaries_of(out) == ("AAA", "BBB")


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("Comparison: A is better.\nPreferred: A", "A"),
        ("Comparison: B is better.\nPreferred: B", "B"),
        ('Comparison: x\nPreferred: "B"', "B"),
        ("Comparison: x\n**Preferred:** A", "A"),
        ("Comparison: x\n**Preferred**: **B**", "B"),
        ("Comparison: x\npreferred: b", "B"),
        ("Comparison: x\n  Preferred :   'A'.  ", "A"),
        ("Comparison: x\nPreferred: Summary B", "B"),
        ("Comparison: x\r\nPreferred: A\r\n", "A"),
        ("Preferred: A\nOn reflection...\nPreferred: B", "B"),  # the last one wins
        ("Preferred: “A”", "A"),
        # invalid: never a coin flip, never guessed
        ('Comparison: x\nPreferred: <"A" or "B">', None),
        ('Preferred: "A" or "B"', None),
        ("Preferred: a summary that is short", None),
        ("Preferred: Preferable", None),
        ("I prefer A.", None),
        ("Preferred: C", None),
        ("Preferred: AB", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_preference(reply, expected):
    assert parse_preference(reply) == expected


# ------------------------------------------------------------------------------ position swap


def test_position_swap_is_deterministic_seeded_and_balanced():
    pairs = [(f"p{i}", f"cand {i}", f"ref {i}") for i in range(400)]
    s0 = [candidate_is_a(0, *p) for p in pairs]
    assert s0 == [candidate_is_a(0, *p) for p in pairs]  # same seed, same order
    s1 = [candidate_is_a(1, *p) for p in pairs]
    assert s0 != s1  # seeds differ
    assert 0.4 < sum(s0) / len(s0) < 0.6 and 0.4 < sum(s1) / len(s1) < 0.6  # roughly balanced
    # prompt id and the pair both matter
    assert len({candidate_is_a(0, f"p{i}", "c", "r") for i in range(32)}) == 2
    assert len({candidate_is_a(0, "p", f"c{i}", "r") for i in range(32)}) == 2


def test_swap_is_undone_after_parsing(tmp_path):
    """Whatever order is shown, the summary the server prefers gets the win."""
    with FakeJudgeServer() as srv:
        judge = make(srv, tmp_path)
        cand_wins = judge.judge(comparisons(40, good="candidate"))
        ref_wins = judge.judge(comparisons(40, good="reference"))
    assert [v.score for v in cand_wins] == [1.0] * 40
    assert [v.score for v in ref_wins] == [0.0] * 40
    orders = [v.meta["candidate_is_A"] for v in cand_wins]
    assert 0 < sum(orders) < 40  # both orders were actually used
    for v in cand_wins:
        assert v.meta["choice"] == ("A" if v.meta["candidate_is_A"] else "B")


def test_both_orders_disagreement_is_a_tie(tmp_path):
    def always_a(body, attempt):
        return FakeResponse(body=completion("Comparison: the first one.\nPreferred: A"))

    with FakeJudgeServer(always_a) as srv:
        judge = make(srv, tmp_path, both_orders=True)
        verdicts = judge.judge(comparisons(10))
        assert srv.n_requests == 20
    assert [v.score for v in verdicts] == [0.5] * 10
    assert all(len(v.meta["orders"]) == 2 for v in verdicts)
    with FakeJudgeServer() as srv:  # a position-independent judge agrees with itself
        verdicts = make(srv, tmp_path / "b", both_orders=True).judge(comparisons(10))
    assert [v.score for v in verdicts] == [1.0] * 10


# ----------------------------------------------------------------------------------- cache


def test_cache_key_changes_with_every_keyed_field():
    base = dict(
        model="gpt-4o-2024-08-06",
        template=STANDARD_TEMPLATE,
        post="post",
        summary_a="a",
        summary_b="b",
        decoding={"temperature": 0.0, "max_tokens": 256},
    )
    k0 = comparison_key(**base)
    assert k0 == comparison_key(**dict(base))
    variants = [
        {"model": "gpt-4o-2024-11-20"},
        {"template": TWO_WORD_TEMPLATE},
        {"post": "post!"},
        {"summary_a": "a!"},
        {"summary_b": "b!"},
        {"summary_a": "b", "summary_b": "a"},  # presented order is keyed
        {"decoding": {"temperature": 0.5, "max_tokens": 256}},
        {"decoding": {"temperature": 0.0, "max_tokens": 128}},
    ]
    keys = {comparison_key(**{**base, **v}) for v in variants}
    assert len(keys) == len(variants) and k0 not in keys


def test_rerun_makes_zero_requests_and_reparses_from_cache(tmp_path):
    comps = comparisons(30)
    with FakeJudgeServer() as srv:
        first = make(srv, tmp_path).judge(comps)
        n = srv.n_requests
        assert n == 30
        judge2 = make(srv, tmp_path)  # a fresh process-like instance on the same cache
        second = judge2.judge(comps)
        assert srv.n_requests == n  # zero API calls
        assert judge2.stats.api_calls == 0 and judge2.stats.cache_hits == 30
    assert [v.score for v in second] == [v.score for v in first]
    assert all(v.meta["cached"] for v in second)
    # raw replies are stored, so the parser is re-applied without any call
    with ReplyCache(tmp_path / "cache.sqlite") as cache:
        row = cache.get(first[0].meta["cache_key"])
        assert parse_preference(row["raw"]) == first[0].meta["choice"]


def test_rerun_needs_no_key_and_no_server(tmp_path):
    comps = comparisons(5)
    with FakeJudgeServer() as srv:
        make(srv, tmp_path).judge(comps)
    # server gone, no base_url, no OPENAI_API_KEY: a fully cached rerun still works
    judge = make(None, tmp_path, base_url=None)
    assert [v.score for v in judge.judge(comps)] == [1.0] * 5


def test_invalid_replies_are_kept_and_counted(tmp_path):
    def sometimes_off_format(body, attempt):
        if "topic 3." in prompt_of(body) or "topic 5." in prompt_of(body):
            return FakeResponse(body=completion("Both summaries are fine, hard to say."))
        return good_reply(body)

    with FakeJudgeServer(sometimes_off_format) as srv:
        verdicts = make(srv, tmp_path).judge(comparisons(8))
    invalid = [v for v in verdicts if v.score is None]
    assert [v.id for v in invalid] == ["3", "5"]
    assert all(v.raw == "Both summaries are fine, hard to say." for v in invalid)
    assert all(v.meta["invalid_reason"] == "unparseable_reply" for v in invalid)
    rows = [{**v.to_row(), "size": "1b", "seed": 0, "policy": "dpo"} for v in verdicts]
    table = per_seed_table(rows)
    assert table.loc[0, "n_invalid"] == 2 and table.loc[0, "n_valid"] == 6
    assert table.loc[0, "winrate"] == 1.0


def test_unparseable_reply_is_reasked_then_cached(tmp_path):
    """format_retries: an off-format reply is asked again; the table counts the re-asks; a
    rerun replays every reply from the cache with zero calls."""

    def off_first(body, attempt):
        if attempt == 0 and ("topic 1." in prompt_of(body) or "topic 4." in prompt_of(body)):
            return FakeResponse(body=completion("Both are fine."))
        return good_reply(body)

    comps = comparisons(6)
    with FakeJudgeServer(off_first) as srv:
        judge = make(srv, tmp_path, format_retries=2)
        verdicts = judge.judge(comps)
        assert srv.n_requests == 6 + 2  # one re-ask each for the two off-format replies
        assert judge.stats.format_retries == 2
        rerun = make(srv, tmp_path, format_retries=2)
        again = rerun.judge(comps)
        assert srv.n_requests == 8 and rerun.stats.api_calls == 0
    assert [v.score for v in verdicts] == [1.0] * 6 == [v.score for v in again]
    for v in (verdicts[1], again[1]):
        assert v.meta["format_retries"] == 1 and v.meta["replies"][0] == "Both are fine."
        assert v.meta["replies"][-1] == v.raw and parse_preference(v.raw) is not None
    rows = [{**v.to_row(), "size": "1b", "seed": 0, "policy": "dpo"} for v in verdicts]
    table = per_seed_table(rows)
    assert table.loc[0, "n_retried"] == 2 and table.loc[0, "n_invalid"] == 0

    with FakeJudgeServer(off_first) as srv:  # format_retries 0: the old behaviour, invalid
        plain = make(srv, tmp_path / "zero", format_retries=0).judge(comps)
        assert srv.n_requests == 6
    assert [v.score for v in plain] == [1.0, None, 1.0, 1.0, None, 1.0]
    assert plain[1].meta["format_retries"] == 0 and "replies" not in plain[1].meta


def test_reasks_respect_max_usd(tmp_path):
    def never_parses(body, attempt):
        return FakeResponse(body=completion("Hard to say."))

    comps = comparisons(10)
    probe = make(None, tmp_path / "probe")
    one_round = probe.client.estimate_cost(
        [probe.make_request(i, c, True) for i, c in enumerate(comps)]
    )
    with FakeJudgeServer(never_parses) as srv:
        judge = make(srv, tmp_path, format_retries=2, max_usd=1.5 * one_round.usd)
        with pytest.raises(BudgetExceededError, match="re-ask 1 of 10 unparseable"):
            judge.judge(comps)
        assert srv.n_requests == 10  # the first round went out (and is cached), no re-ask did
        verdicts = make(srv, tmp_path, format_retries=0).judge(comps)
        assert srv.n_requests == 10
    assert all(v.score is None and v.raw == "Hard to say." for v in verdicts)


def _writer(path: str, start: int, n: int) -> None:
    cache = ReplyCache(path)
    for i in range(start, start + n):
        cache.put(f"k{i}", model="m", raw=f"reply {i}", meta={"i": i})
    cache.close()


def test_cache_is_safe_for_concurrent_processes(tmp_path):
    path = str(tmp_path / "shared.sqlite")
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, j * 150, 200)) for j in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with ReplyCache(path) as cache:
        assert len(cache) == 2 * 150 + 200  # overlapping keys written once, nothing lost
        assert cache.get("k10")["raw"] == "reply 10"


# ---------------------------------------------------------------------------- cost, config


def test_max_usd_refuses_before_any_request(tmp_path, capsys):
    with FakeJudgeServer() as srv:
        judge = make(srv, tmp_path, max_usd=0.01, price_input_per_mtok=2.5, max_tokens=256)
        with pytest.raises(BudgetExceededError, match=r"judge\.openai\.max_usd"):
            judge.judge(comparisons(50))
        assert srv.n_requests == 0
    out = capsys.readouterr().out
    assert "50 comparisons to judge, 50 requests to send (0 cached)" in out
    assert re.search(r"at most \$\d+\.\d\d", out)


def test_cost_estimate_excludes_cache_hits_and_halves_in_batch(tmp_path, capsys):
    comps = comparisons(10)
    with FakeJudgeServer() as srv:
        make(srv, tmp_path).judge(comps[:4])
        judge = make(srv, tmp_path, max_usd=1e-9)
        with pytest.raises(BudgetExceededError):
            judge.judge(comps)
    assert "6 comparisons to judge, 6 requests to send (4 cached)" in capsys.readouterr().out
    sync = make(None, tmp_path / "s")
    batch = make(None, tmp_path / "b", mode="batch")
    jobs = [sync.make_request(i, c, True) for i, c in enumerate(comps)]
    assert batch.client.estimate_cost(jobs).usd == pytest.approx(
        sync.client.estimate_cost(jobs).usd / 2
    )
    assert sync.client.estimate_cost(jobs).output_tokens == 256 * 10


def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(JudgeConfigError, match=r"judge\.openai.*tempreature"):
        OpenAIJudgeConfig.from_mapping({"tempreature": 0})
    with pytest.raises(ValueError, match=r"judge\.openai\.template"):
        OpenAIJudgeConfig.from_mapping({"template": "three_word"})
    with pytest.raises(JudgeConfigError, match=r"judge\.openai\.mode"):
        OpenAIJudgeConfig.from_mapping({"mode": "stream"})
    judge = make(None, tmp_path, base_url=None)  # real OpenAI endpoint and no key
    with pytest.raises(JudgeConfigError, match="OPENAI_API_KEY"):
        judge.judge(comparisons(1))


def test_schema_matches_config_dataclass():
    import jsonschema

    schema = yaml.safe_load((ROOT / "schemas/judge_openai.schema.yaml").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    defaults = asdict(OpenAIJudgeConfig())
    assert set(schema["properties"]) == set(defaults)
    for k, v in defaults.items():
        assert schema["properties"][k]["default"] == v, k
    jsonschema.validate(defaults, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**defaults, "api_key": "sk-x"}, schema)


def test_make_judge_builds_openai_judge(tmp_path):
    cfg = {
        "use": "openai",
        "openai": {"base_url": "http://127.0.0.1:9/v1", "cache": str(tmp_path / "c.sqlite")},
    }
    judge = make_judge("openai", cfg, seed=3, workdir=str(tmp_path))
    assert isinstance(judge, OpenAIJudge) and judge.config.model == "gpt-4o-2024-08-06"


# ----------------------------------------------------------- what the judge sees (paper config)

TITLE = "Landlord kept my whole deposit over one scuffed door"


def tldr_records(n: int = 3) -> list[dict]:
    """Evaluation records as the data pipeline builds them (allroads.hub.sft_records), with a
    whitespace tokenizer: ``post`` is the body, ``prompt`` the formatted query."""
    rows = [
        {"id": f"t{i}", "subreddit": "legaladvice", "title": f"{TITLE} ({i})",
         "post": f"I moved out last month, topic {i}.", "summary": f"deposit dispute {i}"}
        for i in range(n)
    ]  # fmt: skip

    def tok(texts, add_special_tokens=False):
        return {"input_ids": [t.split() for t in texts]}

    return hub.sft_records(rows, tok, hub.task_options({}), "sft_test")


def paper_judge_cfg(srv: FakeJudgeServer, tmp_path: Path) -> dict:
    """config/paper.yaml's judge section, pointed at the fake server."""
    cfg = yaml.safe_load((ROOT / "config/paper.yaml").read_text())["judge"]
    cfg["openai"].update(base_url=srv.base_url, cache=str(tmp_path / "cache.sqlite"), max_usd=None)
    return cfg


def recording(bodies: list):
    def handler(body, attempt):
        bodies.append(body)
        return good_reply(body)

    return handler


def test_paper_judge_reads_the_title_and_sends_no_temperature(tmp_path):
    """The authors' winrate.py gives gpt-4o the formatted query (title included) and no
    temperature; config/paper.yaml does the same, the default config keeps the post's body."""
    prompts = tldr_records()
    samples = [
        {"prompt_id": p["id"], "sample_idx": 0, "completion": " kept it good"} for p in prompts
    ]
    paper, default = [], []
    with FakeJudgeServer(recording(paper)) as srv:
        rows = judge_samples("openai", paper_judge_cfg(srv, tmp_path), prompts, samples, seed=0)
    with FakeJudgeServer(recording(default)) as srv:
        base = {"base_url": srv.base_url, "cache": str(tmp_path / "default.sqlite")}
        rows += judge_samples("openai", {"openai": base}, prompts, samples, seed=0)
    assert [r["score"] for r in rows] == [1.0] * 6
    assert len(paper) == len(default) == 3
    for body in paper:
        post = prompt_of(body).split("### Post:\n")[1].split("\n\n### Summary A:")[0]
        i = int(re.search(r"topic (\d)", post).group(1))
        assert post == f"SUBREDDIT: r/legaladvice\n\nTITLE: {TITLE} ({i})\n\nPOST: " + \
            f"I moved out last month, topic {i}.\n\nTL;DR:"  # fmt: skip
        assert "temperature" not in body and body["max_tokens"] == 256
    for body in default:
        assert TITLE not in prompt_of(body) and "SUBREDDIT" not in prompt_of(body)
        assert body["temperature"] == 0.0


def test_paper_labelling_reads_the_title(tmp_path):
    """Figure 8's labels (two SFT samples, the judge picks): gpt_rank.py also feeds the query."""
    prompts = {p["id"]: p for p in tldr_records()}
    samples = [
        {"prompt_id": pid, "sample_idx": k, "completion": f" sample {k}" + (" good" if k else "")}
        for pid in prompts
        for k in (0, 1)
    ]
    bodies = []
    with FakeJudgeServer(recording(bodies)) as srv:
        judge = make_judge("openai", paper_judge_cfg(srv, tmp_path), seed=0, workdir=tmp_path)
        rows, stats = judged_pairs(samples, prompts, judge)
    assert stats["judged"] == len(bodies) == 3 and all(
        r["chosen"] == " sample 1 good" for r in rows
    )
    assert all(f"TITLE: {TITLE}" in prompt_of(b) and "temperature" not in b for b in bodies)


def test_query_without_a_prompt_is_an_error_naming_the_key(tmp_path):
    judge = make(None, tmp_path, post="query")
    with pytest.raises(JudgeConfigError, match=r"judge\.openai\.post.*'0'"):
        judge.judge(comparisons(1))


def test_retry_delay_honours_retry_after():
    assert retry_delay(0, {"retry-after": "2"}) == 2.0
    assert retry_delay(5, {"retry-after-ms": "250"}) == 0.25
    assert 0.375 <= retry_delay(0, {}) <= 0.5
    assert 3.0 <= retry_delay(3, None) <= 4.0
    assert retry_delay(20, None) <= 30.0


def test_fatal_status_aborts_the_run(tmp_path):
    def unauthorized(body, attempt):
        return FakeResponse(
            401, {"error": {"message": "Incorrect API key", "code": "invalid_api_key"}}
        )

    with FakeJudgeServer(unauthorized) as srv:
        with pytest.raises(JudgeAPIError, match="401"):
            make(srv, tmp_path, concurrency=2).judge(comparisons(20))
        assert srv.n_requests < 20  # the rest were cancelled, not hammered


def test_exhausted_retries_raise_after_caching_successes(tmp_path):
    def broken_for_2(body, attempt):
        if "topic 2." in prompt_of(body):
            return FakeResponse(500, {"error": {"message": "boom"}})
        return good_reply(body)

    comps = comparisons(5)
    with FakeJudgeServer(broken_for_2) as srv:
        with pytest.raises(JudgeAPIError, match="1 of 5 judge requests failed"):
            make(srv, tmp_path, max_retries=1).judge(comps)
        n = srv.n_requests
        verdicts = make(srv, tmp_path, max_retries=1, on_error="invalid").judge(comps)
        assert srv.n_requests == n + 2  # only the failed request was sent again (1 retry)
    assert [v.score for v in verdicts] == [1.0, 1.0, None, 1.0, 1.0]
    assert (
        verdicts[2].meta["invalid_reason"] == "request_failed"
        and "HTTP 500" in verdicts[2].meta["error"]
    )


# ------------------------------------------------------------------------------ batch mode


class BatchAPI:
    """A mock Batch API (files + batches) behind ``httpx2.MockTransport``."""

    class Crash(BaseException):
        """Simulates the process dying while polling."""

    def __init__(self, reply=lambda prompt: good_reply({"messages": [{"content": prompt}]}).body):
        self.reply = reply
        self.calls: list[str] = []
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict] = {}
        self.crash_on_poll = False
        self.polls_until_done = 2

    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handle)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        path, method = request.url.path, request.method
        self.calls.append(f"{method} {path}")
        if method == "POST" and path.endswith("/files"):
            body = request.read()
            lines = [ln for ln in body.split(b"\r\n") if ln.startswith(b'{"custom_id"')]
            if not lines:  # the multipart part may use \n inside the file content
                lines = [ln for ln in body.split(b"\n") if ln.startswith(b'{"custom_id"')]
            fid = f"file-in-{len(self.files)}"
            self.files[fid] = b"\n".join(lines)
            return httpx2.Response(
                200,
                json={
                    "id": fid,
                    "object": "file",
                    "bytes": len(body),
                    "created_at": 0,
                    "filename": "in.jsonl",
                    "purpose": "batch",
                    "status": "processed",
                },
            )
        if method == "POST" and path.endswith("/batches"):
            req = json.loads(request.read())
            bid = f"batch_{len(self.batches)}"
            self.batches[bid] = {
                "id": bid,
                "object": "batch",
                "endpoint": req["endpoint"],
                "input_file_id": req["input_file_id"],
                "completion_window": "24h",
                "created_at": 0,
                "status": "validating",
                "polls": 0,
            }
            return httpx2.Response(200, json=self._public(bid))
        m = re.search(r"/batches/([^/]+)$", path)
        if method == "GET" and m:
            if self.crash_on_poll:
                raise BatchAPI.Crash()
            b = self.batches[m.group(1)]
            b["polls"] += 1
            if b["polls"] >= self.polls_until_done and b["status"] != "completed":
                b["status"] = "completed"
                b["output_file_id"] = self._run(b)
            else:
                b["status"] = b.get("output_file_id") and "completed" or "in_progress"
            return httpx2.Response(200, json=self._public(m.group(1)))
        m = re.search(r"/files/([^/]+)/content$", path)
        if method == "GET" and m:
            return httpx2.Response(200, content=self.files[m.group(1)])
        return httpx2.Response(404, json={"error": {"message": f"no route {method} {path}"}})

    def _public(self, bid):
        b = dict(self.batches[bid])
        b.pop("polls")
        total = len(self.files[b["input_file_id"]].splitlines())
        b["request_counts"] = {
            "total": total,
            "completed": total if b["status"] == "completed" else 0,
            "failed": 0,
        }
        return b

    def _run(self, b) -> str:
        out = []
        for line in self.files[b["input_file_id"]].splitlines():
            req = json.loads(line)
            body = self.reply(req["body"]["messages"][-1]["content"])
            out.append(
                json.dumps(
                    {
                        "id": "r",
                        "custom_id": req["custom_id"],
                        "error": None,
                        "response": {"status_code": 200, "request_id": "q", "body": body},
                    }
                )
            )
        fid = f"file-out-{b['id']}"
        self.files[fid] = "\n".join(out).encode()
        return fid


def test_batch_mode_resumes_persisted_batch_without_resubmitting(tmp_path):
    comps = comparisons(12)
    api = BatchAPI()
    api.crash_on_poll = True
    judge = make(
        None,
        tmp_path,
        mode="batch",
        batch_poll_s=0.01,
        http_client=httpx2.Client(transport=api.transport()),
    )
    with pytest.raises(BatchAPI.Crash):
        judge.judge(comps)
    state = json.loads((tmp_path / "work/openai_batch_state.json").read_text())
    assert [b["id"] for b in state["batches"]] == ["batch_0"]  # persisted before polling
    assert api.calls.count("POST /v1/batches") == 1

    api.crash_on_poll = False
    api.calls.clear()
    # max_usd ~ 0: resuming a paid-for batch costs nothing new, so the budget does not block it
    judge2 = make(
        None,
        tmp_path,
        mode="batch",
        batch_poll_s=0.01,
        max_usd=1e-9,
        http_client=httpx2.Client(transport=api.transport()),
    )
    judge2.client.sleep = lambda s: None
    verdicts = judge2.judge(comps)
    assert "POST /v1/batches" not in api.calls and "POST /v1/files" not in api.calls
    assert [v.score for v in verdicts] == [1.0] * 12  # joined on custom_id, order undone
    state = json.loads((tmp_path / "work/openai_batch_state.json").read_text())
    assert state["batches"][0]["ingested"] and state["batches"][0]["status"] == "completed"

    # the batch fed the same cache: a sync-mode rerun makes no request at all
    with FakeJudgeServer() as srv:
        again = make(srv, tmp_path).judge(comps)
        assert srv.n_requests == 0
    assert [v.score for v in again] == [1.0] * 12


def test_batch_mode_submits_only_misses_and_keeps_invalids(tmp_path):
    comps = comparisons(6)
    with FakeJudgeServer() as srv:
        make(srv, tmp_path).judge(comps[:2])

    def reply(prompt):
        text = (
            "no idea"
            if "topic 4." in prompt
            else good_reply({"messages": [{"content": prompt}]}).body
        )
        return completion(text) if isinstance(text, str) else text

    api = BatchAPI(reply)
    judge = make(None, tmp_path, mode="batch", http_client=httpx2.Client(transport=api.transport()))
    judge.client.sleep = lambda s: None
    verdicts = judge.judge(comps)
    assert len(api.files["file-in-0"].splitlines()) == 4  # cache hits are not resubmitted
    assert [v.score for v in verdicts] == [1.0, 1.0, 1.0, 1.0, None, 1.0]
    assert verdicts[4].raw == "no idea"


def test_batch_mode_reasks_in_a_second_batch_and_resumes_from_cache(tmp_path):
    seen: dict[str, int] = {}

    def off_first(prompt):
        seen[prompt] = seen.get(prompt, 0) + 1
        if seen[prompt] == 1 and "topic 2." in prompt:
            return completion("I cannot tell.")
        return good_reply({"messages": [{"content": prompt}]}).body

    comps = comparisons(5)
    api = BatchAPI(off_first)
    judge = make(
        None, tmp_path, mode="batch", format_retries=2,
        http_client=httpx2.Client(transport=api.transport()),
    )  # fmt: skip
    judge.client.sleep = lambda s: None
    verdicts = judge.judge(comps)
    assert api.calls.count("POST /v1/batches") == 2  # the first round, then one re-ask
    inputs = [f for f in api.files if f.startswith("file-in")]
    assert [len(api.files[f].splitlines()) for f in inputs] == [5, 1]  # only the off one again
    assert [v.score for v in verdicts] == [1.0] * 5
    assert verdicts[2].meta["format_retries"] == 1
    assert verdicts[2].meta["replies"][0] == "I cannot tell."
    with FakeJudgeServer() as srv:  # everything, re-asks included, is in the cache
        again = make(srv, tmp_path, format_retries=2).judge(comps)
        assert srv.n_requests == 0
    assert [v.meta.get("replies") for v in again] == [v.meta.get("replies") for v in verdicts]


# ------------------------------------------------------------------------------ key hygiene


def test_api_key_never_leaks(tmp_path, monkeypatch, caplog, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    caplog.set_level(logging.DEBUG)
    seen_auth = []

    def flaky(body, attempt):
        if attempt == 0 and "topic 1." in prompt_of(body):
            return FakeResponse(500, {"error": {"message": "transient"}})
        if "topic 2." in prompt_of(body):
            return FakeResponse(400, {"error": {"message": "bad request"}})
        return good_reply(body)

    comps = comparisons(4)
    with FakeJudgeServer(flaky) as srv:
        judge = OpenAIJudge.from_config(
            {
                "model": "fake-judge",
                "base_url": srv.base_url,
                "cache": str(tmp_path / "cache.sqlite"),
                "on_error": "invalid",
                "max_retries": 2,
            },
            seed=0,
            workdir=tmp_path / "work",
            progress=True,
            http_client=httpx2.AsyncClient(
                event_hooks={"request": [lambda r: _note_auth(r, seen_auth)]}
            ),
        )
        verdicts = judge.judge(comps)
        judge.close()
    assert seen_auth and all(a == f"Bearer {FAKE_KEY}" for a in seen_auth)  # the key is used...
    api = BatchAPI()
    bjudge = make(
        None, tmp_path / "batch", mode="batch", http_client=httpx2.Client(transport=api.transport())
    )
    bjudge.client.sleep = lambda s: None
    verdicts += bjudge.judge(comps)
    bjudge.close()
    captured = capsys.readouterr()
    texts = {
        "log": caplog.text,
        "stdout": captured.out,
        "stderr": captured.err,
        "verdicts": json.dumps([v.to_row() for v in verdicts]),
        "repr": repr(judge.__dict__) + repr(bjudge.__dict__),
    }
    for name, text in texts.items():  # ...but appears nowhere else
        for part in [FAKE_KEY, *KEY_PARTS]:
            assert part not in text, name
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name.startswith("cache.sqlite") for p in files)
    assert any(p.name.endswith(".jsonl") for p in files)
    for p in files:
        data = p.read_bytes()
        for part in [FAKE_KEY, *KEY_PARTS]:
            assert part.encode() not in data, (p, part)


async def _note_auth(request, seen):
    seen.append(request.headers.get("authorization"))


def test_judge_works_inside_a_running_event_loop(tmp_path):
    import asyncio

    async def caller():
        with FakeJudgeServer() as srv:
            return make(srv, tmp_path).judge(comparisons(3))

    assert [v.score for v in asyncio.run(caller())] == [1.0] * 3
