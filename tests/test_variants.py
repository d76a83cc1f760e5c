"""Variants (Figures 6-8): names resolve to the shared checkpoints and sample sets, ROUGE-L and
judge-labelled pairs are what Appendix C.1 describes, the labeller has the facts data's noise,
a variant's config is checked before any job, and the variant diagnostics score the variants'
own RMs and offline DPO policies on the held-out pairs as the default chain's."""

import copy
import re
import subprocess
import sys
from pathlib import Path

import configs
import pytest
import yaml

from allroads import toytask
from allroads import variants as v
from allroads.config import ConfigError, validate
from allroads.judged_pairs import judged_pairs
from allroads.judging import LabellerJudge
from allroads.judging.base import Comparison, Verdict
from allroads.rouge import rouge_l_f1, rouge_pairs, score_samples
from allroads.tasks import get_task
from allroads.tasks.facts import FactsTask

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = configs.load(configs.FACTS)  # the facts task: its data, labeller and tokenizer
VARIANTS = DEFAULT["variants"]


def test_names_resolve_to_shared_or_own_checkpoints():
    assert v.split("rouge.online-dpo") == ("rouge", "online-dpo") and v.split("dpo") == (
        None,
        "dpo",
    )
    # every variant starts from the one SFT
    assert {v.model_name(VARIANTS, f"{x}.sft") for x in VARIANTS} == {"sft"}
    # a variant with its own pairs trains its own RM and offline DPO ...
    assert v.model_name(VARIANTS, "rouge.global_rm") == "rouge.global_rm"
    assert v.model_name(VARIANTS, "judged.dpo") == "judged.dpo"
    # ... one on the PFT pairs (prompt augmentation) reuses the default ones
    assert v.model_name(VARIANTS, "augment.global_rm") == "global_rm"
    assert v.model_name(VARIANTS, "augment.dpo") == "dpo"
    assert v.model_name(VARIANTS, "augment.online-dpo") == "augment.online-dpo"


def test_online_samples_are_shared_where_the_checkpoint_is():
    # Online DPO (SFT) of a variant ranks the SFT's default samples with the variant's RM
    assert v.pft_samples_name(VARIANTS, "judged.sft") == "sft"
    assert v.pft_samples_name(VARIANTS, "augment.dpo") == "dpo"
    assert v.pft_samples_name(VARIANTS, "rouge.dpo") == "rouge.dpo"  # its own DPO policy
    assert v.extra_prompts(VARIANTS, "augment.dpo") == 2000 and not v.extra_prompts(VARIANTS, "dpo")


def _samples(pid, texts):
    return [
        {"prompt_id": pid, "sample_idx": i, "completion": t, "id": f"{pid}#{i}"}
        for i, t in enumerate(texts)
    ]


def test_rouge_pairs_are_top_and_bottom_by_rouge_l_f1_against_the_preferred_completion():
    prompts = {"p": {"prompt": "P", "post": "post", "chosen": " alice owns cats sold rings"}}
    texts = [" alice sold rings", " bob hates tents", " alice owns cats sold rings", " alice"]
    rows, stats = rouge_pairs(_samples("p", texts), prompts)
    assert rows == [
        {
            "id": "p",
            "prompt": "P",
            "post": "post",
            "chosen": texts[2],
            "rejected": texts[1],
            "score_chosen": 1.0,
            "score_rejected": 0.0,
        }  # fmt: skip
    ]
    # F1 of the LCS: " alice sold rings" shares 3 in-order words of 5 -> P 1, R 3/5
    assert rouge_l_f1(prompts["p"]["chosen"], texts[0]) == pytest.approx(2 * 0.6 / 1.6)
    assert stats["pairs"] == 1 and stats["tied"] == 0


def test_rouge_scores_one_row_per_prompt_against_its_chosen():
    prompts = [{"id": "a", "chosen": " x y"}, {"id": "b", "chosen": " z"}]
    samples = _samples("a", [" x y", " q"]) + _samples("b", [" q"])
    rows = score_samples(prompts, samples, {"policy": "rouge.dpo", "seed": 0, "size": "s"})
    assert [(r["prompt_id"], r["score"]) for r in rows] == [("a", 1.0), ("b", 0.0)]
    with pytest.raises(ValueError, match="lack 1 evaluation prompts"):
        score_samples(prompts, samples[:2], {})


def _toy_rows(n, seed=0):
    cfg = dict(DEFAULT["task"]["toy"], splits=dict(DEFAULT["task"]["toy"]["splits"], pft_train=n))
    return toytask.build_splits(cfg, seed)["pft_train"]


def test_labeller_has_the_facts_preference_datas_noise():
    """The labeller judge is the facts data's Bradley–Terry labeller at the same temperature:
    on that data's own pairs it agrees with r* about as often as the data's labels do."""
    rows = _toy_rows(600)
    t = DEFAULT["task"]["toy"]["label_temperature"]
    comps = [Comparison(r["id"], r["id"], r["post"], r["chosen"], r["rejected"]) for r in rows]
    task = get_task(DEFAULT["task"])
    verdicts = LabellerJudge(task, t, seed=0).judge(comps)
    agree, data_agree, n = 0, 0, 0
    for r, vd in zip(rows, verdicts, strict=True):
        rc, rr = (
            toytask.true_reward(r["post"], r["chosen"]),
            toytask.true_reward(r["post"], r["rejected"]),
        )
        if rc != rr:
            n += 1
            agree += (vd.score == 1.0) == (rc > rr)
            data_agree += rc > rr
    assert abs(agree / n - data_agree / n) < 0.06, (agree / n, data_agree / n)
    assert 0.6 < agree / n < 0.9
    # seeded per comparison: the same labels in any order, other labels under another seed
    again = LabellerJudge(task, t, seed=0).judge(comps[::-1])[::-1]
    assert [x.score for x in again] == [x.score for x in verdicts]
    assert [x.score for x in LabellerJudge(task, t, seed=1).judge(comps)] != [
        x.score for x in verdicts
    ]


class _Spy:
    """A judge that records what it was asked and prefers the longer summary."""

    def __init__(self, invalid=()):
        self.asked, self.invalid = [], set(invalid)

    def judge(self, comps):
        self.asked += comps
        return [
            Verdict(
                c.id,
                c.prompt_id,
                None if c.id in self.invalid else float(len(c.candidate) > len(c.reference)),
            )  # fmt: skip
            for c in comps
        ]


def test_judged_pairs_take_samples_0_and_1_and_skip_identical_ones():
    prompts = {p: {"prompt": p.upper(), "post": "post " + p} for p in "abcd"}
    samples = (
        _samples("a", [" short", " much longer", " ignored"])
        + _samples("b", [" long text", " x"])
        + _samples("c", [" same", " same"])
        + _samples("d", [" d0", " d1"])
    )
    spy = _Spy(invalid={"d"})
    rows, stats = judged_pairs(samples, prompts, spy)
    assert [c.id for c in spy.asked] == ["a", "b", "d"]  # identical samples: no judge call
    by = {r["id"]: r for r in rows}
    assert (by["a"]["chosen"], by["a"]["rejected"]) == (" much longer", " short")
    assert (by["b"]["chosen"], by["b"]["rejected"]) == (" long text", " x")
    assert by["c"]["chosen"] == by["c"]["rejected"] == " same"  # a tied pair, kept
    assert "d" not in by  # invalid judgment: dropped, counted
    assert stats == {
        "prompts": 4,
        "pairs": 3,
        "tied": 1,
        "judged": 3,
        "judged_ties": 0,
        "invalid": 1,
    }
    assert by["a"]["prompt"] == "A" and by["a"]["post"] == "post a"


def test_judged_pairs_need_two_samples_per_prompt():
    with pytest.raises(ValueError, match="fewer than 2 samples"):
        judged_pairs(_samples("a", [" one"]), {"a": {"prompt": "", "post": ""}}, _Spy())


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: c["variants"].pop("rouge"), "fig6 needs variants.rouge"),
        (lambda c: c["variants"]["judged"].pop("judge"), "pairs: judged needs `judge`"),
        (
            lambda c: c["variants"]["augment"].update(pairs="rouge"),
            "extra_prompts needs pairs: pft",
        ),
        (lambda c: c["variants"]["rouge"].update(pairs="bleu"), "key variants.rouge.pairs"),
        (lambda c: c["online"].update(generators=["dpo"]), "online.generators needs 'sft'"),
        (lambda c: c.update(figures=["fig99"]), "key figures: 'fig99' is not a figure"),
    ],
)
def test_bad_variant_config_names_the_key(mutate, message):
    cfg = copy.deepcopy(DEFAULT)
    mutate(cfg)
    if cfg["online"]["generators"] == ["dpo"]:
        cfg["eval"]["policies"] = ["sft", "dpo", "dpo2x", "online-dpo"]
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        validate(cfg)


def test_paper_config_labels_with_the_openai_judge():
    paper = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    validate(copy.deepcopy(paper))
    judged = paper["variants"]["judged"]
    assert (judged["pairs"], judged["judge"]) == ("judged", "openai")
    bad = copy.deepcopy(paper)
    bad["variants"]["judged"]["judge"] = "labeller"
    with pytest.raises(ConfigError, match="labeller needs a task with a hidden reward"):
        validate(bad)


# ---- the variant diagnostics (rule diagnose_variants): the variants' own models on pft_val

ARCH = {"hidden_size": 32, "num_layers": 2, "num_heads": 2}


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """An untrained tiny global RM and two tiny policies, an 'SFT' and a 'DPO' one."""
    import torch
    from transformers import GPTNeoXForSequenceClassification

    from allroads import models

    root = tmp_path_factory.mktemp("variant_models")
    tok = FactsTask.tokenizer()
    for name, seed in (("sft", 1), ("dpo", 6)):
        models.save(models.init_tiny_model(ARCH, tok, seed=seed), tok, root / name)
    cfg = models.init_tiny_model(ARCH, tok, seed=3).config
    cfg.num_labels = 1
    torch.manual_seed(3)
    models.save(GPTNeoXForSequenceClassification(cfg), tok, root / "rm")
    return {k: str(root / k) for k in ("sft", "dpo", "rm")}


def test_variant_diagnostics_score_the_variants_own_models_on_held_out_pairs(tmp_path, tiny_models):
    """Rule diagnose_variants' script on held-out pairs built so the answers are known: the RM
    prefers the labelled chosen on 6 of 8 pairs (acc_labels 0.75); its agreement with r* is
    over the pairs whose r* differs; a 'DPO' policy that is its own SFT has implicit reward 0
    on every side (accuracy 0.5, all ties). Paper scale (no r*): label accuracy only."""
    from test_jobs import run_job

    from allroads import diagnostics as d
    from allroads import reward_models as rms
    from allroads.io import read_json, write_jsonl

    rows = [r for r in _toy_rows(12) if r["chosen"] != r["rejected"]][:8]
    prompts = [r["prompt"] for r in rows]
    rm = rms.load("global", rm_dir=tiny_models["rm"])
    sc, sr = (rm.score_text(prompts, [r[k] for r in rows]) for k in ("chosen", "rejected"))
    assert all(a != b for a, b in zip(sc, sr, strict=True))
    val, hi, lo = [], [], []  # hi / lo: the RM's preferred / other completion of each pair
    for i, r in enumerate(rows):
        hi.append(r["chosen"] if sc[i] > sr[i] else r["rejected"])
        lo.append(r["rejected"] if sc[i] > sr[i] else r["chosen"])
        agree = i < 6  # the labels: the RM's choice on 6 pairs, the other side on 2
        val.append(dict(r, chosen=hi[i] if agree else lo[i], rejected=lo[i] if agree else hi[i]))
    truth = [
        (toytask.true_reward(r["post"], h), toytask.true_reward(r["post"], x))
        for r, h, x in zip(rows, hi, lo, strict=True)
    ]
    differ = [a > b for a, b in truth if a != b]
    assert differ, truth  # some pairs differ in r*
    want_rstar = sum(differ) / len(differ)
    dpo = rms.load("dpo", policy_dir=tiny_models["dpo"], ref_dir=tiny_models["sft"], beta=1.0)
    vp = [r["prompt"] for r in val]
    dc, dr = (
        dpo.score_text(vp, [r["chosen"] for r in val]),
        dpo.score_text(vp, [r["rejected"] for r in val]),
    )
    want_implicit = sum(a > b for a, b in zip(dc, dr, strict=True)) / len(val)
    assert want_implicit != 0.5  # (not the all-ties answer of the SFT itself)
    write_jsonl(tmp_path / "pft_val.jsonl", val)
    write_jsonl(tmp_path / "pft_train.jsonl", rows)
    out = tmp_path / "seed0.variants.json"
    rm_dirs, pol = [tiny_models["rm"]], [tiny_models["dpo"], tiny_models["sft"]]
    p, log = run_job(
        tmp_path,
        "diagnose_variants",
        script=str(ROOT / "scripts" / "diagnose_variants.py"),
        input={"pair_stats": [], "samples": [], "pairs": [], "models": [], "rms": rm_dirs,
               "offline": pol, "sft": tiny_models["sft"],
               "pft_train": str(tmp_path / "pft_train.jsonl"),
               "pft_val": str(tmp_path / "pft_val.jsonl")},
        output=[str(out)],
        config={"task": DEFAULT["task"]},
        params={"precision": "fp32", "pair_variants": [], "generators": [],
                "rouge": {}, "models": [], "rms": ["rouge.global_rm"],
                "offline": ["rouge.dpo", "judged.dpo"]},
        wildcards={"size": "toy-xs", "seed": "0"},
    )  # fmt: skip
    assert p.returncode == 0, log.read_text()[-3000:]
    got = read_json(out)
    assert got == pytest.approx(
        {
            "rouge.global_rm_acc_labels": 0.75,
            "rouge.global_rm_acc_rstar": want_rstar,
            "rouge.dpo_implicit_acc": want_implicit,
            "judged.dpo_implicit_acc": 0.5,  # the SFT itself: implicit reward 0, all ties
        }
    )
    # paper scale (TL;DR): no r*, so label accuracy only, the same number
    held = d.HeldOut.from_rows(val)
    assert not held.has_truth
    assert d.held_out_metrics(held, {"rouge.global_rm": tiny_models["rm"]}, {}) == {
        "rouge.global_rm_acc_labels": 0.75
    }
    with pytest.raises(ValueError, match="needs its SFT reference"):
        d.held_out_metrics(held, {}, {"rouge.dpo": tiny_models["dpo"]})


def test_variant_diagnostics_read_the_variants_own_models(tmp_path):
    """The default config's rule diagnose_variants reads the variants' own global RMs and
    offline DPO policies, the SFT and pft_val; augment's are the default ones (scored by rule
    diagnose), so not read again."""
    r = tmp_path / "r"
    target = r / "diagnostics" / "toy-m" / "seed0.variants.json"
    p = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "-p", str(target), "--config", f"results={r}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    block = re.search(r"rule diagnose_variants:\n(.*?)\n\n", p.stdout, re.S).group(1)
    inputs = set(re.search(r"^\s*input: (.*)$", block, re.M).group(1).split(", "))
    m = f"{r}/models/toy-m"
    own = {f"{m}/seed0/{x}" for x in ("rouge.global_rm", "judged.global_rm", "rouge.dpo",
                                       "rouge.dpo2x", "judged.dpo")}  # fmt: skip
    assert own | {f"{m}/sft", f"{r}/data/pft_val.jsonl"} <= inputs
    assert not {f"{m}/seed0/global_rm", f"{m}/seed0/dpo"} & inputs
