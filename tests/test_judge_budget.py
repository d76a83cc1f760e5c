"""The whole run's judge bill before any call (rule judge_budget): every role counted, max_usd
stops the run with nothing sent, and every job that calls the judge waits on it."""

import json
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest

from allroads.io import write_jsonl
from allroads.judging.budget import estimate, message

ROOT = Path(__file__).resolve().parent.parent
EVAL = [{"post": "p" * 400, "reference": "r" * 40}] * 6
PFT = [{"post": "q" * 800}] * 10
CFG = {"price_input_per_mtok": 2.5, "price_output_per_mtok": 10.0, "max_tokens": 100}


def test_every_role_is_counted():
    est = estimate(CFG, {"evaluation": 3, "labelling": 2}, EVAL, PFT, 53)
    roles = {r["role"]: r for r in est["roles"]}
    assert set(roles) == {"evaluation", "labelling", "generation"}
    assert (roles["evaluation"]["comparisons"], roles["labelling"]["comparisons"]) == (18, 20)
    assert est["requests"] == 38 and roles["generation"]["usd"] == 0
    # output tokens: max_tokens per request, an upper bound
    assert roles["labelling"]["output_tokens"] == 100 * 20
    # labelling compares two samples of up to H tokens against a longer post: dearer per request
    assert roles["labelling"]["input_tokens"] / 20 > roles["evaluation"]["input_tokens"] / 18
    assert est["usd"] == pytest.approx(sum(r["usd"] for r in est["roles"]))
    assert est["within_budget"] and est["max_usd"] is None
    assert "labelling: 2 jobs, 20 comparisons" in message(est)


def test_both_orders_double_and_batch_halves():
    base = estimate(CFG, {"evaluation": 1}, EVAL, PFT, 53)
    both = estimate(dict(CFG, both_orders=True), {"evaluation": 1}, EVAL, PFT, 53)
    batch = estimate(dict(CFG, mode="batch"), {"evaluation": 1}, EVAL, PFT, 53)
    assert both["requests"] == 2 * base["requests"]
    assert both["usd"] == pytest.approx(2 * base["usd"])
    assert batch["usd"] == pytest.approx(base["usd"] / 2)


def run_script(tmp_path, max_usd):
    write_jsonl(tmp_path / "eval.jsonl", EVAL)
    write_jsonl(tmp_path / "pft.jsonl", PFT)
    out = tmp_path / "budget.json"
    smk = SimpleNamespace(
        input=SimpleNamespace(eval_prompts=str(tmp_path / "eval.jsonl"),
                              pft_train=str(tmp_path / "pft.jsonl")),
        output=[str(out)], log=[str(tmp_path / "log")], rule="judge_budget", wildcards={},
        threads=1,
        params=SimpleNamespace(judge_cfg=dict(CFG, max_usd=max_usd),
                               plan={"evaluation": 45, "labelling": 9}, max_new_tokens=53),
    )  # fmt: skip
    runpy.run_path(str(ROOT / "scripts/judge_budget.py"), init_globals={"snakemake": smk})
    return out


def test_max_usd_stops_the_run_before_any_spend(tmp_path):
    with pytest.raises(SystemExit):
        run_script(tmp_path, max_usd=0.01)
    log = (tmp_path / "log").read_text()
    assert "exceeds the limit $0.01; nothing was sent" in log and "Traceback" not in log
    assert "labelling: 9 jobs" in log and "evaluation: 45 jobs" in log
    assert not (tmp_path / "budget.json").exists()  # the judge jobs cannot start


def test_within_budget_writes_the_bill(tmp_path):
    out = run_script(tmp_path, max_usd=100.0)
    est = json.loads(out.read_text())
    assert est["within_budget"] and est["requests"] == 45 * 6 + 9 * 10


def test_the_query_is_priced_where_the_judge_reads_it():
    """judge.openai.post: query shows the judge each record's formatted query: the bill prices
    those (longer) texts for evaluation and labelling; the writer still reads the post."""
    head, tail = "SUBREDDIT: r/x\n\nTITLE: " + "t" * 80 + "\n\nPOST: ", "\n\nTL;DR:"
    extra = len(head) + len(tail)
    ev = [dict(r, prompt=head + r["post"] + tail) for r in EVAL]
    pft = [dict(r, prompt=head + r["post"] + tail) for r in PFT]
    plan = {"evaluation": 1, "labelling": 1}
    body = estimate(CFG, plan, ev, pft, 53)
    query = estimate(dict(CFG, post="query"), plan, ev, pft, 53)
    for b, q in zip(body["roles"][:2], query["roles"][:2], strict=True):
        n = q["comparisons"]
        assert abs(q["input_tokens"] - b["input_tokens"] - n * extra / 4) <= n
    assert query["usd"] > body["usd"]
    with pytest.raises(ValueError, match="eval_prompts rows lack 'prompt'"):
        estimate(dict(CFG, post="query"), plan, EVAL, PFT, 53)
