"""Winrate tables: ties 0.5, invalids excluded and counted, SE over seeds, and the paired
bootstrap over prompts (coverage on synthetic data with a known effect, pairing, determinism)."""

import math

import numpy as np
import pytest

from allroads.winrate import (
    bootstrap,
    differences_table,
    per_seed_table,
    summary_table,
    to_markdown,
)


def rec(seed, score, policy="dpo", prompt="p0", **meta):
    return {"size": "s", "seed": seed, "policy": policy, "prompt_id": prompt, "score": score,
            "meta": meta}  # fmt: skip


def test_ties_invalids_and_reasks():
    records = [
        rec(0, 1.0, prompt="a"), rec(0, 0.5, prompt="b"), rec(0, 0.0, prompt="c"),
        rec(0, None, prompt="d", format_retries=2), rec(1, 1.0, prompt="a", format_retries=1),
        rec(1, 1.0, prompt="b"),
    ]  # fmt: skip
    per_seed = per_seed_table(records)
    s0 = per_seed[per_seed.seed == 0].iloc[0]
    assert s0.winrate == pytest.approx(0.5) and s0.n_valid == 3 and s0.n_invalid == 1
    assert s0.n_retried == 1 and s0.n_retries == 2
    summary = summary_table(per_seed, boot=bootstrap(records, 200)).iloc[0]
    assert summary.winrate == pytest.approx(0.75)  # mean of per-seed winrates 0.5 and 1.0
    assert summary.se_seeds == pytest.approx(math.sqrt(2 * 0.25**2) / math.sqrt(2))
    assert summary.n_invalid == 1 and summary.n_valid == 5
    assert summary.n_retried == 2 and summary.n_retries == 3
    assert 0.0 <= summary.ci_low <= summary.winrate <= summary.ci_high <= 1.0
    md = to_markdown(summary_table(per_seed, boot=bootstrap(records, 200)))
    assert "| s | dpo | 75.0 ± 25.0 | [" in md and "| 2 | 5 | 1 | 2 |" in md


def synthetic(rng, n_prompts=200, n_seeds=3, effects=(0.0, 0.5), spread=2.0):
    """Judgments where prompt i is won with probability sigmoid(d_i + effect): prompts differ a
    lot in difficulty d_i (so policies are correlated through them), seeds add Bernoulli noise."""
    d = rng.normal(0, spread, n_prompts)
    records = []
    for k, eff in enumerate(effects):
        p = 1 / (1 + np.exp(-(d + eff)))
        for seed in range(n_seeds):
            wins = rng.random(n_prompts) < p
            records += [rec(seed, float(w), f"pol{k}", f"q{i}") for i, w in enumerate(wins)]
    return records


def truth(effects, spread=2.0):
    """Population winrates E_d[sigmoid(d + effect)], d ~ N(0, spread²), by quadrature."""
    x, w = np.polynomial.hermite_e.hermegauss(80)
    return [
        float(np.sum(w / (1 + np.exp(-(spread * x + e)))) / np.sqrt(2 * np.pi)) for e in effects
    ]


def test_intervals_cover_the_truth():
    effects = (0.0, 0.5)
    t0, t1 = truth(effects)
    rng = np.random.default_rng(1)
    n, hits_pol, hits_diff, excludes_0 = 60, 0, 0, 0
    for _ in range(n):
        records = synthetic(rng, effects=effects)
        boot = bootstrap(records, resamples=400, seed=int(rng.integers(1 << 30)))
        summary = summary_table(per_seed_table(records), boot=boot).set_index("policy")
        hits_pol += summary.loc["pol0", "ci_low"] <= t0 <= summary.loc["pol0", "ci_high"]
        d = differences_table(boot, [("pol1", "pol0")]).iloc[0]
        hits_diff += d.ci_low <= t1 - t0 <= d.ci_high
        excludes_0 += d.ci_low > 0
    # nominal 95%; with 60 replicates the binomial SD is ~3 points, so 85% is a safe floor
    assert hits_pol / n >= 0.85 and hits_diff / n >= 0.85
    assert excludes_0 / n >= 0.8  # the known effect is detected


def test_paired_difference_is_narrower_than_unpaired():
    records = synthetic(np.random.default_rng(2), effects=(0.0, 0.6), spread=3.0)
    boot = bootstrap(records, resamples=1000, seed=0)
    paired = differences_table(boot, [("pol1", "pol0")]).iloc[0]
    # unpaired: each policy's prompts resampled on their own
    b1 = bootstrap([r for r in records if r["policy"] == "pol1"], 1000, seed=1)["s"]
    b0 = bootstrap([r for r in records if r["policy"] == "pol0"], 1000, seed=2)["s"]
    lo, hi = np.percentile(b1.draws[:, 0] - b0.draws[:, 0], [2.5, 97.5])
    assert paired["diff"] == pytest.approx(b1.point[0] - b0.point[0])
    assert paired.ci_high - paired.ci_low < 0.7 * (hi - lo)  # ~0.5 measured
    assert paired.ci_low > 0 and paired.p_le_0 < 0.025  # paired: the gap is resolved


def test_bootstrap_is_deterministic_in_its_seed():
    records = synthetic(np.random.default_rng(3), n_prompts=50)
    a, b, c = (
        bootstrap(records, 300, seed=5),
        bootstrap(records, 300, seed=5),
        bootstrap(records, 300, seed=6),
    )
    assert np.array_equal(a["s"].draws, b["s"].draws)
    assert not np.array_equal(a["s"].draws, c["s"].draws)
    assert np.allclose(a["s"].point, c["s"].point)  # the estimate itself does not depend on it
    # the point estimate is the table's winrate (mean over seeds of per-seed winrates)
    summary = summary_table(per_seed_table(records), boot=a).set_index("policy")
    assert a["s"].point == pytest.approx(summary.loc[a["s"].policies, "winrate"].to_numpy())


def test_invalid_and_missing_judgments_are_left_out_not_counted_as_losses():
    records = [rec(0, 1.0, "a", "p0"), rec(0, None, "a", "p1"), rec(0, 0.0, "b", "p0")]
    boot = bootstrap(records, 200)["s"]
    assert boot.point[boot.policies.index("a")] == 1.0  # p1 is invalid for a: not a loss
    assert np.nanmin(boot.draws[:, boot.policies.index("a")]) == 1.0


def test_duplicate_judgments_are_an_error():
    with pytest.raises(ValueError, match=r"prompt 'p0' for policy 'dpo', seed 0"):
        bootstrap([rec(0, 1.0), rec(0, 0.0)], 100)


def test_differences_markdown_and_missing_policies():
    records = synthetic(np.random.default_rng(4), n_prompts=40)
    boot = bootstrap(records, 200)
    diffs = differences_table(boot, [("pol1", "pol0"), ("online-sft", "dpo")])
    assert list(diffs["policy"]) == ["pol1"]  # a comparison of unjudged policies is skipped
    md = to_markdown(summary_table(per_seed_table(records), boot=boot), diffs)
    d = diffs.iloc[0]
    assert f"| s | pol1 − pol0 | {d['diff'] * 100:+.1f} |" in md
    assert "200 resamples, 40 prompts" in md


def test_table_script_writes_intervals_and_differences(tmp_path):
    """Rule table end to end: judgment files -> CSVs with intervals + markdown."""
    import runpy
    from pathlib import Path
    from types import SimpleNamespace

    import pandas as pd

    from allroads.io import write_jsonl

    records = synthetic(np.random.default_rng(5), n_prompts=30, effects=(0.0, 0.5, 0.5))
    names = {"pol0": "dpo", "pol1": "online-sft", "pol2": "dpo2x"}
    files = []
    for pol in names:
        files.append(str(tmp_path / f"{pol}.jsonl"))
        write_jsonl(files[-1], [{**r, "policy": names[pol]} for r in records if r["policy"] == pol])
    out = {k: str(tmp_path / f"fig3.{k}") for k in ("csv", "md", "per_seed", "diffs")}
    boot = {"resamples": 300, "seed": 0, "level": 0.9}
    smk = SimpleNamespace(
        input=SimpleNamespace(judgments=files), output=SimpleNamespace(**out),
        params=SimpleNamespace(policies=["dpo", "dpo2x", "online-sft"], bootstrap=boot,
                               comparisons=[["online-sft", "dpo"], ["online-dpo", "dpo2x"]]),
        log=[str(tmp_path / "log")], rule="table_fig3", wildcards={}, threads=1,
    )  # fmt: skip
    root = Path(__file__).resolve().parents[1]
    runpy.run_path(str(root / "scripts/table.py"), init_globals={"snakemake": smk})
    summary, diffs = pd.read_csv(out["csv"]), pd.read_csv(out["diffs"])
    assert list(summary["policy"]) == ["dpo", "dpo2x", "online-sft"]
    assert (summary["ci_low"] <= summary["winrate"]).all() and (summary["ci_level"] == 0.9).all()
    assert list(diffs["policy"]) == ["online-sft"]  # online-dpo was not judged: skipped
    assert "90% CI" in Path(out["md"]).read_text()

    write_jsonl(files[0], [{k: v for k, v in r.items() if k != "prompt_id"} for r in records])
    with pytest.raises(SystemExit):  # one clear line naming the file, row and field
        runpy.run_path(str(root / "scripts/table.py"), init_globals={"snakemake": smk})
    assert "pol0.jsonl:1: missing field(s) ['prompt_id']" in (tmp_path / "log").read_text()
