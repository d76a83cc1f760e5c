"""Figure 5's data at paper scale (`task.two_word_recipe: judge`): gpt-4o writes two two-word
summaries per PFT prompt with the C.1 prompt, picks the winner with the evaluation prompt, and
writes the evaluation references (allroads.two_word_data, allroads.judging.writer, rule
two_word_data). Against the loopback fake server (sync), a mock Batch API (batch) and the
dry-run DAG of `--configfile config/paper.yaml config/paper-two-word.yaml`."""

from __future__ import annotations

import json
import re
import runpy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import httpx2
import pytest

from profiles import without_conda

sys.path.insert(0, str(Path(__file__).parent))

from judge_fake_server import FakeJudgeServer, FakeResponse, completion, good_reply, prompt_of  # noqa: E402
from test_openai_judge import BatchAPI  # noqa: E402

from allroads.io import read_json, read_jsonl, write_jsonl  # noqa: E402
from allroads.judging.budget import estimate, message  # noqa: E402
from allroads.judging.openai_config import BudgetExceededError  # noqa: E402
from allroads.judging.openai_judge import OpenAIJudge  # noqa: E402
from allroads.judging.writer import (  # noqa: E402
    SummaryWriter,
    WriteRequest,
    parse_summary,
    request_seed,
)
from allroads.two_word_data import WriterSettings, build  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
SEED = 0

# Appendix C.1, typed in from the paper (not read from the package)
C1_PROMPT = (
    "Given the following forum post, please write a summary of the post of length at most two "
    "words. The summaries should not include any unimportant or irrelevant details.\n\n"
    "### Post:\n{post}\n\n"
    "### Instructions:\n"
    "Your response should use the format:\n"
    "Summary: <two-word summary>\n"
    "Do not include any other text or explanations in your response."
)


@pytest.fixture(autouse=True)
def _no_real_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def post(split: str, i: int) -> str:
    return f"Post {split} {i}: my forum post about topic {i}, with details."


def splits(n_train=6, n_val=4, n_eval=3) -> dict[str, list[dict]]:
    def pft(split, n):
        return [
            {"id": f"{split[4]}{i}", "prompt": f"POST: {post(split, i)}\n\nTwo-Word TL;DR:",
             "post": post(split, i), "chosen": " a long human summary", "rejected": " another"}
            for i in range(n)
        ]  # fmt: skip

    evals = [
        {"id": f"e{i}", "prompt": f"POST: {post('eval', i)}\n\nTwo-Word TL;DR:",
         "post": post("eval", i), "reference": " a long human reference summary"}
        for i in range(n_eval)
    ]  # fmt: skip
    return {"pft_train": pft("pft_train", n_train), "pft_val": pft("pft_val", n_val),
            "eval_prompts": evals}  # fmt: skip


def draw_table(sp: dict[str, list[dict]]) -> dict[int, tuple[str, int, int]]:
    """API seed -> (split, row index, draw) of every writing request of ``sp``."""
    out = {}
    for split in ("pft_train", "pft_val"):
        for i, r in enumerate(sp[split]):
            for d in (0, 1):
                out[request_seed(SEED, split, r["id"], d)] = (split, i, d)
    for i, r in enumerate(sp["eval_prompts"]):
        out[request_seed(SEED, "eval_prompts", r["id"], 0)] = ("eval_prompts", i, 0)
    return out


def good_draw(i: int) -> int:
    """Which draw of row i the fake writer makes the better one: both positions occur."""
    return i % 2


def summary_of(split: str, i: int, d: int) -> str:
    if split == "eval_prompts":
        return f"ref{i} topic"
    return f"good{i} topic" if d == good_draw(i) else f"plain{i} topic"


class Fake:
    """One handler for both roles: C.1 prompts get `Summary: ...` by (split, row, draw) found
    from the request's seed; judge prompts get the fault-free judge (prefers "good")."""

    def __init__(self, sp, writer_override=None, judge_override=None):
        self.table = draw_table(sp)
        self.writer_override = writer_override or (lambda who, n: None)
        self.judge_override = judge_override or (lambda prompt, n: None)
        self.bodies: list[dict] = []
        self.seen: dict[tuple, int] = {}

    def reply_body(self, body: dict) -> dict:
        prompt = prompt_of(body)
        if "### Summary A:" in prompt:
            n = self.seen[prompt] = self.seen.get(prompt, -1) + 1
            text = self.judge_override(prompt, n)
            return completion(text) if text is not None else good_reply(body).body
        self.bodies.append(body)
        who = self.table[body["seed"]]
        n = self.seen[who] = self.seen.get(who, -1) + 1
        text = self.writer_override(who, n)
        return completion(text if text is not None else f"Summary: {summary_of(*who)}")

    def __call__(self, body, attempt):
        return FakeResponse(body=self.reply_body(body))


def judge_cfg(srv, tmp_path, **kw):
    return {"model": "fake-judge", "base_url": srv.base_url if srv else "http://127.0.0.1:9/v1",
            "cache": str(tmp_path / "cache.sqlite"), "timeout_s": 5, "max_retries": 1,
            "template": "two_word", **kw}  # fmt: skip


def make(srv, tmp_path, http_client=None, **kw):
    cfg = judge_cfg(srv, tmp_path, **kw)
    extra = {"progress": False}
    writer = SummaryWriter.from_config(
        cfg, max_tokens=16, workdir=tmp_path / "work/write", http_client=http_client, **extra
    )
    judge = OpenAIJudge.from_config(
        cfg, seed=SEED, workdir=tmp_path / "work/label", http_client=http_client, **extra
    )
    return writer, judge


def run(srv, tmp_path, sp, settings=None, **kw):
    writer, judge = make(srv, tmp_path, **kw)
    out, stats = build(sp, writer, judge, settings or WriterSettings(), SEED)
    return out, stats, writer, judge


# ------------------------------------------------------------------------- the C.1 prompt


def test_c1_prompt_is_sent_verbatim_with_the_post(tmp_path):
    sp = splits(1, 1, 1)
    fake = Fake(sp)
    with FakeJudgeServer(fake) as srv:
        writer, _ = make(srv, tmp_path)
        p = "My post.\nIt has {{summarya}} and two lines."
        req = WriteRequest("x", p, 0.7, request_seed(SEED, "pft_train", "t0", 0))
        [w] = writer.write([req])
    [body] = fake.bodies
    assert body["messages"] == [{"role": "user", "content": C1_PROMPT.format(post=p)}]
    assert (body["model"], body["temperature"], body["seed"]) == ("fake-judge", 0.7, req.seed)
    assert body["max_tokens"] == 16  # the writer's own reply limit, not the judge's 256
    assert w.summary == "good0 topic" and w.valid


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("Summary: Breakup advice", "Breakup advice"),
        ("Summary: a b", "a b"),
        ("summary:   Job   stress  ", "Job stress"),
        ('Summary: "Roommate drama"', "Roommate drama"),
        ("**Summary:** *Lost dog*", "Lost dog"),
        ("Summary: Long-distance relationship.", "Long-distance relationship."),
        ("Summary: Burnout", "Burnout"),
        ("Summary: one\nSummary: two words", "two words"),  # the last one wins
        # unparseable: re-asked, never guessed
        ("Summary: <two-word summary>", None),
        ("Summary: three words here", None),
        ("Breakup advice", None),
        ("Summary:", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_summary(reply, expected):
    assert parse_summary(reply) == expected


# ------------------------------------------------------------------------------ the pairs


def test_pairs_are_ordered_by_the_pick(tmp_path):
    sp = splits()
    with FakeJudgeServer(Fake(sp)) as srv:
        out, stats, _, judge = run(srv, tmp_path, sp)
    for split in ("pft_train", "pft_val"):
        assert len(out[split]) == len(sp[split])
        for i, (row, src) in enumerate(zip(out[split], sp[split], strict=True)):
            # the task's record schema: same fields, the prompt and post kept
            assert set(row) == set(src) and (row["id"], row["prompt"]) == (src["id"], src["prompt"])
            assert row["chosen"] == f" good{i} topic" and row["rejected"] == f" plain{i} topic"
        # the better draw was draw 0 on even rows, draw 1 on odd rows: order comes from the pick
        assert stats[split]["draw0_chosen"] == pytest.approx(
            sum(good_draw(i) == 0 for i in range(len(sp[split]))) / len(sp[split])
        )
    assert [r["reference"] for r in out["eval_prompts"]] == [
        " ref0 topic",
        " ref1 topic",
        " ref2 topic",
    ]
    assert [{k: r[k] for k in ("id", "prompt", "post")} for r in out["eval_prompts"]] == [
        {k: r[k] for k in ("id", "prompt", "post")} for r in sp["eval_prompts"]
    ]
    assert stats["pft_train"]["dropped"] == dict.fromkeys(
        ("unwritten", "identical", "judge_tie", "invalid_pick"), 0
    )


def test_val_rows_chooses_a_seeded_subset(tmp_path):
    sp = splits(2, 10, 1)
    with FakeJudgeServer(Fake(sp)) as srv:
        out, stats, writer, _ = run(srv, tmp_path, sp, WriterSettings(val_rows=3))
        assert srv.n_requests == 2 * 2 + 2 * 3 + 1 + 2 + 3  # writes, then picks
    ids = [r["id"] for r in out["pft_val"]]
    assert len(ids) == 3 and ids == sorted(ids, key=lambda x: int(x[1:]))  # file order
    assert stats["pft_val"]["rows_in"] == 3


def test_unparseable_summary_is_reasked_then_dropped_and_counted(tmp_path):
    sp = splits(4, 1, 2)

    def off(who, n):
        split, i, d = who
        if (split, i, d) == ("pft_train", 1, 0) and n == 0:
            return "The post is about a lost dog and the owner's worries."  # re-asked once
        if (split, i, d) == ("pft_train", 2, 1):
            return "Summary: far too many words here"  # every time: no summary
        if split == "eval_prompts" and i == 1:
            return "Lost dog"  # every time (no `Summary:`): no reference
        return None

    fake = Fake(sp, writer_override=off)
    with FakeJudgeServer(fake) as srv:
        out, stats, writer, _ = run(srv, tmp_path, sp, format_retries=2)
        n_first = srv.n_requests
    # 8 + 2 + 2 writes; re-asks: round 1 for three, round 2 for the two always off; 4 picks
    assert len(fake.bodies) == 12 + 3 + 2 and n_first == len(fake.bodies) + 4
    assert [r["id"] for r in out["pft_train"]] == ["t0", "t1", "t3"]
    assert out["pft_train"][1]["chosen"] == " good1 topic"
    st = stats["pft_train"]
    assert st["dropped"]["unwritten"] == 1 and st["dropped_ids"]["unwritten"] == ["t2"]
    assert st["summaries_reasked"] == 2 and st["summaries_invalid"] == 1
    assert [r["id"] for r in out["eval_prompts"]] == ["e0"]
    assert stats["eval_prompts"]["dropped_ids"] == {"unwritten": ["e1"]}
    assert writer.stats.format_retries == 5


def test_identical_draws_ties_and_invalid_picks_are_dropped_and_counted(tmp_path):
    sp = splits(5, 1, 1)

    def same(who, n):
        split, i, d = who
        return "Summary: same words" if (split, i) == ("pft_train", 0) else None

    def judge_off(prompt, n):
        return "Both are fine." if "pft_train 3:" in prompt else None  # invalid after re-asks

    with FakeJudgeServer(Fake(sp, same, judge_off)) as srv:
        out, stats, _, judge = run(srv, tmp_path, sp, format_retries=1)
        picks = srv.paths["POST /v1/chat/completions"] - (2 * 5 + 2 + 1)
    assert picks == 4 + 1 + 1  # no pick for the identical pair; one re-ask of the invalid one
    assert [r["id"] for r in out["pft_train"]] == ["t1", "t2", "t4"]
    st = stats["pft_train"]
    assert st["dropped"] == {"unwritten": 0, "identical": 1, "judge_tie": 0, "invalid_pick": 1}
    assert st["dropped_ids"]["identical"] == ["t0"] and st["dropped_ids"]["invalid_pick"] == ["t3"]

    def first_always_a(prompt, n):  # both_orders: the two orders of row t0 disagree
        return "Comparison: the first.\nPreferred: A" if "pft_train 0:" in prompt else None

    with FakeJudgeServer(Fake(sp, None, first_always_a)) as srv:
        out, stats, _, _ = run(srv, tmp_path / "both", sp, both_orders=True)
    assert [r["id"] for r in out["pft_train"]] == ["t1", "t2", "t3", "t4"]
    assert stats["pft_train"]["dropped"]["judge_tie"] == 1
    assert stats["pft_train"]["dropped_ids"]["judge_tie"] == ["t0"]


def test_every_row_dropped_is_an_error(tmp_path):
    sp = splits(2, 1, 1)
    with FakeJudgeServer(Fake(sp, lambda who, n: "no summary")) as srv:
        with pytest.raises(ValueError, match="no pft_train row is left"):
            run(srv, tmp_path, sp, format_retries=0)


# ------------------------------------------------------------------- cache, budget, batch


def test_rerun_makes_zero_calls(tmp_path):
    sp = splits()
    with FakeJudgeServer(Fake(sp)) as srv:
        first, stats1, _, _ = run(srv, tmp_path, sp)
        n = srv.n_requests
        assert n == 2 * 6 + 2 * 4 + 3 + 6 + 4
        again, stats2, writer, judge = run(srv, tmp_path, sp)
        assert srv.n_requests == n  # zero calls
    assert writer.stats.api_calls == 0 and judge.stats.api_calls == 0
    assert again == first
    # no server, no key, no base_url: a fully cached rerun still builds the same data
    out, _, _, _ = run(None, tmp_path, sp, base_url=None)
    assert out == first


def test_max_usd_stops_the_writer_before_any_call(tmp_path):
    sp = splits()
    with FakeJudgeServer(Fake(sp)) as srv:
        with pytest.raises(BudgetExceededError, match="No request was sent"):
            run(srv, tmp_path, sp, max_usd=1e-6)
        assert srv.n_requests == 0
    assert not (tmp_path / "cache.sqlite").exists()


def test_batch_mode_request_lines_and_results(tmp_path):
    sp = splits(3, 1, 1)
    fake = Fake(sp)
    api = BatchAPI()  # its _run is replaced: the fake writer needs the whole body (the seed)

    def run_batch(b):  # BatchAPI._run with the whole request body
        out = []
        for line in api.files[b["input_file_id"]].splitlines():
            req = json.loads(line)
            out.append(json.dumps({"id": "r", "custom_id": req["custom_id"], "error": None,
                                   "response": {"status_code": 200, "request_id": "q",
                                                "body": fake.reply_body(req["body"])}}))  # fmt: skip
        fid = f"file-out-{b['id']}"
        api.files[fid] = "\n".join(out).encode()
        return fid

    api._run = run_batch
    writer, judge = make(
        None, tmp_path, http_client=httpx2.Client(transport=api.transport()), mode="batch",
        batch_poll_s=0.01,
    )  # fmt: skip
    writer.client.sleep = judge.client.sleep = lambda s: None
    out, stats = build(sp, writer, judge, WriterSettings(temperature=0.9), SEED)
    assert api.calls.count("POST /v1/batches") == 2  # every summary in one batch, every pick in one
    lines = [json.loads(x) for x in api.files["file-in-0"].splitlines()]
    assert len(lines) == 2 * 3 + 2 * 1 + 1
    keys = {writer.make_request(0, WriteRequest("", r["post"], 0.9, s)).key
            for s, (split, i, d) in draw_table(sp).items() for r in [sp[split][i]]}  # fmt: skip
    assert {ln["custom_id"] for ln in lines} == keys  # joined on the cache key
    for ln in lines:
        assert ln["method"] == "POST" and ln["url"] == "/v1/chat/completions"
        body = ln["body"]
        assert body["model"] == "fake-judge" and body["max_tokens"] == 16
        split, i, d = draw_table(sp)[body["seed"]]
        assert body["temperature"] == 0.9
        assert body["messages"] == [
            {"role": "user", "content": C1_PROMPT.format(post=sp[split][i]["post"])}
        ]
    assert [r["chosen"] for r in out["pft_train"]] == [
        " good0 topic",
        " good1 topic",
        " good2 topic",
    ]
    # the batches fed the cache: a sync rerun makes no call
    with FakeJudgeServer(Fake(sp)) as srv:
        again, _, _, _ = run(srv, tmp_path, sp, WriterSettings(temperature=0.9))
        assert srv.n_requests == 0
    assert again == out


# ------------------------------------------------------------------------ the rule's script


def script_env(tmp_path, srv, sp, **cfg):
    paths = {}
    for split, rows in sp.items():
        paths[split] = str(tmp_path / "data" / f"{split}.jsonl")
        write_jsonl(paths[split], rows)
    outs = {s: str(tmp_path / "data/two_word" / f"{s}.jsonl") for s in sp}
    smk = SimpleNamespace(
        input=_Named(paths), output=_Named({**outs, "stats": str(tmp_path / "data/two_word/stats.json")}),
        log=[str(tmp_path / "two_word_data.log")], rule="two_word_data", wildcards={}, threads=1,
        params=SimpleNamespace(judge_cfg=judge_cfg(srv, tmp_path, **cfg), writer={"max_tokens": 16},
                               seed=SEED, workdir=str(tmp_path / "judge_work/two_word")),
    )  # fmt: skip
    return smk


class _Named(dict):
    __getattr__ = dict.__getitem__


def run_script(smk):
    runpy.run_path(str(ROOT / "scripts/two_word_data.py"), init_globals={"snakemake": smk})


def test_script_writes_the_splits_atomically_with_stats_and_log(tmp_path):
    sp = splits()
    with FakeJudgeServer(Fake(sp)) as srv:
        smk = script_env(tmp_path, srv, sp)
        run_script(smk)
    for split in sp:
        rows = read_jsonl(smk.output[split])
        assert len(rows) == len(sp[split]) and all(set(r) == set(sp[split][0]) for r in rows)
    stats = read_json(smk.output.stats)
    assert stats["pft_train"]["rows"] == 6 and stats["writer"]["api_calls"] == 2 * 6 + 2 * 4 + 3
    log = Path(smk.log[0]).read_text()
    assert "pft_train: 6 of 6 rows" in log and "Traceback" not in log
    assert not list((tmp_path / "data/two_word").glob(".*tmp"))  # no temporaries left


def test_bad_input_is_one_line_naming_file_and_row(tmp_path):
    sp = splits()
    sp["pft_train"][3]["id"] = sp["pft_train"][1]["id"]
    with FakeJudgeServer(Fake(splits())) as srv:
        smk = script_env(tmp_path, srv, sp)
        with pytest.raises(SystemExit):
            run_script(smk)
        assert srv.n_requests == 0
    log = Path(smk.log[0]).read_text()
    assert f"{smk.input.pft_train}:4: duplicate id 't1' (first at row 2)" in log
    assert "Traceback" not in log
    sp = splits()
    del sp["eval_prompts"][2]["post"]
    smk = script_env(tmp_path / "b", None, sp)
    with pytest.raises(SystemExit):
        run_script(smk)
    assert f"{smk.input.eval_prompts}:3: missing field(s) ['post']" in Path(smk.log[0]).read_text()


# ----------------------------------------------------------------- the paper two-word DAG


def paper_two_word_dry_run(tmp: Path) -> str:
    profile = str(without_conda("slurm", tmp / "profile"))
    cmd = [str(SNAKEMAKE), "all", "-n", "--profile", profile, "--configfile",
           "config/paper.yaml", "config/paper-two-word.yaml", "--config", f"results={tmp}/tw"]  # fmt: skip
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return p.stdout + p.stderr


def blocks(out: str) -> dict[str, list[str]]:
    by_rule: dict[str, list[str]] = {}
    for b in re.split(r"\n(?=(?:local)?rule \w+:\n)", out):
        m = re.match(r"(?:local)?rule (\w+):\n", b)
        if m:
            by_rule.setdefault(m.group(1), []).append(b)
    return by_rule


def inputs(block: str) -> list[str]:
    return re.search(r"^\s*input: (.*)$", block, re.M).group(1).split(", ")


def test_paper_two_word_dag_trains_on_the_judge_built_data(tmp_path):
    out = paper_two_word_dry_run(tmp_path)
    by_rule = blocks(out)
    d = f"{tmp_path}/tw/data"
    [tw] = by_rule["two_word_data"]
    # it reads the task's own splits and waits on the run's judge bill
    assert sorted(inputs(tw)) == sorted(
        [f"{d}/pft_train.jsonl", f"{d}/pft_val.jsonl", f"{d}/eval_prompts.jsonl",
         f"{tmp_path}/tw/judge_work/budget.json"]
    )  # fmt: skip
    [budget] = by_rule["judge_budget"]
    assert sorted(inputs(budget)) == sorted(inputs(tw)[:3])  # the raw splits: no cycle
    for rule in ("offline_dpo", "global_rm"):
        assert by_rule[rule] and all(
            f"{d}/two_word/pft_train.jsonl" in inputs(b) for b in by_rule[rule]
        )
        assert not any(f"{d}/pft_train.jsonl" in inputs(b) for b in by_rule[rule])
    for rule, split in (("judge", "eval_prompts"), ("sample_eval", "eval_prompts"),
                        ("diagnose", "pft_val"),
                        ("sample_online", "pft_train")):  # fmt: skip
        assert all(f"{d}/two_word/{split}.jsonl" in inputs(b) for b in by_rule[rule]), rule
    # Figure 5's chain at its scope, 1.4B x 3 seeds (no RM study), plus this job and the bill
    assert re.search(r"^total\s+54$", out, re.M)


def load_workflow_plan(tmp: Path) -> dict:
    """rule judge_budget's params of the paper two-word workflow (Snakemake's API, no run)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (
        ConfigSettings,
        DeploymentSettings,
        OutputSettings,
        ResourceSettings,
        StorageSettings,
        WorkflowSettings,
    )  # fmt: skip

    with SnakemakeApi(OutputSettings()) as api:
        wf = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(
                configfiles=[ROOT / "config/paper.yaml", ROOT / "config/paper-two-word.yaml"],
                config={"results": str(tmp / "plan")},
            ),
            storage_settings=StorageSettings(),
            workflow_settings=WorkflowSettings(),
            deployment_settings=DeploymentSettings(),
            snakefile=ROOT / "Snakefile",
            workdir=ROOT,
        )
        params = wf._workflow.get_rule("judge_budget").params
        return {"plan": params.plan, "judge_cfg": dict(params.judge_cfg),
                "writer": dict(params.writer), "max_new_tokens": params.max_new_tokens}  # fmt: skip


def test_paper_two_word_bill_prices_generation_and_max_usd_stops_it(tmp_path):
    got = load_workflow_plan(tmp_path)
    sp = splits(20, 8000, 30)  # 8000 validation rows: val_rows (6000) caps them
    est = estimate(
        got["judge_cfg"], got["plan"], sp["eval_prompts"], sp["pft_train"], got["max_new_tokens"],
        pft_val=sp["pft_val"], writer_max_tokens=got["writer"]["max_tokens"],
    )  # fmt: skip
    roles = {r["role"]: r for r in est["roles"]}
    assert got["writer"]["val_rows"] == 6000
    assert roles["generation"]["requests"] == 2 * 20 + 2 * 6000 + 30 > 0
    assert roles["generation"]["usd"] > 0 and roles["generation"]["output_tokens"] == 16 * 12070
    assert roles["labelling"]["requests"] == 20 + 6000  # one pick per pair
    assert roles["evaluation"]["requests"] > 0
    assert "generation: 1 jobs, 12,070 summaries" in message(est)

    # the rule's script with that plan: over max_usd, the run stops before any call
    for split, rows in sp.items():
        write_jsonl(tmp_path / f"{split}.jsonl", rows)
    smk = SimpleNamespace(
        input=_Named({s: str(tmp_path / f"{s}.jsonl") for s in sp}),
        output=[str(tmp_path / "budget.json")], log=[str(tmp_path / "budget.log")],
        rule="judge_budget", wildcards={}, threads=1,
        params=SimpleNamespace(judge_cfg={**got["judge_cfg"], "max_usd": 1.0}, plan=got["plan"],
                               max_new_tokens=got["max_new_tokens"], writer=got["writer"]),
    )  # fmt: skip
    with pytest.raises(SystemExit):
        runpy.run_path(str(ROOT / "scripts/judge_budget.py"), init_globals={"snakemake": smk})
    log = (tmp_path / "budget.log").read_text()
    assert "exceeds the limit $1.00; nothing was sent" in log and "generation: 1 jobs" in log
    assert not (tmp_path / "budget.json").exists()  # two_word_data and every judge job wait on it


def test_api_key_only_from_the_environment_and_never_written(tmp_path, monkeypatch):
    key = "sk-test-DO-NOT-LEAK-2w9e4d1c"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    sp = splits(3, 1, 1)
    with FakeJudgeServer(Fake(sp)) as srv:
        smk = script_env(tmp_path, srv, sp)
        run_script(smk)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite" for p in files) and Path(smk.log[0]) in files
    for p in files:
        data = p.read_bytes()
        assert b"DO-NOT-LEAK" not in data and b"2w9e4d1c" not in data, p
