"""Variants (Figures 6-8): names resolve to the shared checkpoints and sample sets, ROUGE-L and
judge-labelled pairs are what Appendix C.1 describes, the labeller has the default data's noise,
and a variant's config is checked before any job."""

import copy
from pathlib import Path

import pytest
import yaml

from allroads import toytask
from allroads import variants as v
from allroads.config import ConfigError, validate
from allroads.judged_pairs import judged_pairs
from allroads.judging import LabellerJudge
from allroads.judging.base import Comparison, Verdict
from allroads.rouge import rouge_l_f1, rouge_pairs, score_samples

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())
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


def test_labeller_has_the_default_preference_datas_noise():
    """The labeller judge is toytask.label_pair's Bradley–Terry labeller at the same temperature:
    on the default data's own pairs it agrees with r* about as often as the data's labels do."""
    rows = _toy_rows(600)
    t = DEFAULT["task"]["toy"]["label_temperature"]
    comps = [Comparison(r["id"], r["id"], r["post"], r["chosen"], r["rejected"]) for r in rows]
    verdicts = LabellerJudge(t, seed=0).judge(comps)
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
    again = LabellerJudge(t, seed=0).judge(comps[::-1])[::-1]
    assert [x.score for x in again] == [x.score for x in verdicts]
    assert [x.score for x in LabellerJudge(t, seed=1).judge(comps)] != [x.score for x in verdicts]


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
    assert paper["variants"]["judged"] == {"pairs": "judged", "judge": "openai"}
    bad = copy.deepcopy(paper)
    bad["variants"]["judged"]["judge"] = "labeller"
    with pytest.raises(ConfigError, match="labeller needs the toy task"):
        validate(bad)
