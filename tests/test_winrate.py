"""Winrate tables: ties 0.5, invalids excluded and counted, SE over seeds and prompts."""

import math

import pytest

from allroads.winrate import per_seed_table, summary_table, to_markdown


def rec(seed, score, policy="dpo"):
    return {"size": "s", "seed": seed, "policy": policy, "score": score}


def test_ties_and_invalids():
    records = [rec(0, 1.0), rec(0, 0.5), rec(0, 0.0), rec(0, None), rec(1, 1.0), rec(1, 1.0)]
    per_seed = per_seed_table(records)
    s0 = per_seed[per_seed.seed == 0].iloc[0]
    assert s0.winrate == pytest.approx(0.5) and s0.n_valid == 3 and s0.n_invalid == 1
    summary = summary_table(per_seed).iloc[0]
    assert summary.winrate == pytest.approx(0.75)  # mean of per-seed winrates 0.5 and 1.0
    assert summary.se_seeds == pytest.approx(
        math.sqrt(((0.5 - 0.75) ** 2 + 0.25**2) / 1) / math.sqrt(2)
    )
    assert summary.n_invalid == 1 and summary.n_valid == 5
    # pooled over the 5 valid prompts: mean 0.7, sample sd
    vals = [1.0, 0.5, 0.0, 1.0, 1.0]
    m = sum(vals) / 5
    sd = math.sqrt(sum((v - m) ** 2 for v in vals) / 4)
    assert summary.se_prompts == pytest.approx(sd / math.sqrt(5))
    assert "| s | dpo | 75.0 ± 25.0 |" in to_markdown(summary_table(per_seed))
