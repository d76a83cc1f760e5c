"""The pre-registered criteria (docs/prereg/2026-12-04-paths-gate.md), evaluated on a run's own
diagnostics (rule ``diagnose``: ``gate_<ranker>_<metric>``, ``eval_rstar_<policy>``), so that
a run says "met" or "not met" for each, with its numbers; rule ``table_prereg`` writes them.

The criteria are data (:data:`CRITERIA`), their thresholds the config's ``prereg`` block (the
schema holds the defaults, the pre-registration's numbers). A criterion is a quantity of one
run (the main run, or Figure 5's control run) per (size, seed), either one diagnostic or a
paired per-seed difference of two, and a test of its mean over seeds (``SE`` = sample s.d. /
sqrt(n)); the gate's own criteria are tested per seed too.

- the gate (the SFT's online samples): tie share <= ``tie_share_max``, the global RM's
  agreement with r* >= ``rm_agree_min``, its best-of-K share of the oracle's gain >=
  ``rm_bok_share_min``; the mechanism: the RM's agreement and share above DPO's implicit
  reward's; on the control, the RM's agreement minus DPO's <= ``control_se`` SE (no better);
- the outcome (mean r* of the evaluation summaries): online DPO (SFT) - DPO and online DPO
  (SFT) - SFT > 0 and >= ``effect_se`` SE; online DPO (DPO) - DPO (2x) > 0 (with its SE); on
  the control, |online DPO (DPO) - DPO| <= ``control_se`` SE.

A row whose inputs are missing (no control run, one seed for an SE test, a task without r*, a
policy not evaluated) is "n/a" with the reason.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# run -> size -> seed -> that (size, seed)'s diagnostics (rule diagnose's JSON)
Diagnostics = Mapping[str, Mapping[int, Mapping[str, float]]]

MET, NOT_MET, NA = "met", "not met", "n/a"


@dataclass(frozen=True)
class Test:
    """How a criterion's mean (and SE) over seeds is judged against threshold ``t``."""

    text: str  # the threshold as shown, ``{t}`` the config's value
    passes: Callable[[float, float, float], bool]  # (mean, se, t)
    needs_se: bool = False  # an SE over seeds, so at least two seeds


TESTS = {
    "at_most": Test("≤ {t:g}", lambda m, se, t: m <= t),
    "at_least": Test("≥ {t:g}", lambda m, se, t: m >= t),
    "above_zero": Test("> 0", lambda m, se, t: m > 0),
    "effect": Test("> 0 and ≥ {t:g} SE", lambda m, se, t: m > 0 and m >= t * se, needs_se=True),
    "no_better": Test("≤ {t:g} SE", lambda m, se, t: m <= t * se, needs_se=True),
    "within": Test("within ±{t:g} SE", lambda m, se, t: abs(m) <= t * se, needs_se=True),
}


@dataclass(frozen=True)
class Criterion:
    """One pre-registered criterion: ``key`` (minus ``minus``, paired by seed) of run ``run``,
    judged by ``TESTS[test]`` with threshold ``prereg.<threshold>``; ``per_seed``: each seed
    is judged too, besides the mean."""

    name: str
    section: str  # gate | outcome
    run: str  # main | control
    key: str
    test: str
    minus: str | None = None
    threshold: str | None = None
    per_seed: bool = False


CRITERIA: tuple[Criterion, ...] = (
    Criterion("tie share", "gate", "main", "gate_rm_tie_share", "at_most",
              threshold="tie_share_max", per_seed=True),
    Criterion("RM agreement with r*", "gate", "main", "gate_rm_rstar_agree", "at_least",
              threshold="rm_agree_min", per_seed=True),
    Criterion("RM best-of-K share of the oracle's gain", "gate", "main",
              "gate_rm_bok_gain_share", "at_least", threshold="rm_bok_share_min", per_seed=True),
    Criterion("mechanism: RM agreement − DPO's", "gate", "main", "gate_rm_rstar_agree",
              "above_zero", minus="gate_dpo_rstar_agree", per_seed=True),
    Criterion("mechanism: RM best-of-K share − DPO's", "gate", "main", "gate_rm_bok_gain_share",
              "above_zero", minus="gate_dpo_bok_gain_share", per_seed=True),
    Criterion("control: RM agreement − DPO's", "gate", "control", "gate_rm_rstar_agree",
              "no_better", minus="gate_dpo_rstar_agree", threshold="control_se"),
    Criterion("1. online DPO (SFT) − DPO, r*", "outcome", "main", "eval_rstar_online-sft",
              "effect", minus="eval_rstar_dpo", threshold="effect_se"),
    Criterion("2. online DPO (SFT) − SFT, r*", "outcome", "main", "eval_rstar_online-sft",
              "effect", minus="eval_rstar_sft", threshold="effect_se"),
    Criterion("3. online DPO (DPO) − DPO (2x), r*", "outcome", "main", "eval_rstar_online-dpo",
              "above_zero", minus="eval_rstar_dpo2x"),
    Criterion("4. control: online DPO (DPO) − DPO, r*", "outcome", "control",
              "eval_rstar_online-dpo", "within", minus="eval_rstar_dpo", threshold="control_se"),
)  # fmt: skip

COLUMNS = ["section", "criterion", "size", "seed", "threshold", "mean", "se", "n", "value"]
COLUMNS += ["status", "note"]


def read(paths) -> dict[str, dict[int, dict]]:
    """{size: {seed: diagnostics}} of rule diagnose's files ``<...>/{size}/seed{seed}.json``."""
    from .io import read_json

    out: dict[str, dict[int, dict]] = {}
    for path in paths:
        m = re.search(r"([^/]+)/seed(\d+)\.json$", str(path))
        if m is None:
            raise ValueError(f"{path}: not a diagnostics file <size>/seed<seed>.json")
        out.setdefault(m[1], {})[int(m[2])] = read_json(path)
    return out


def _value(d: Mapping[str, float], c: Criterion) -> float | None:
    """The criterion's quantity of one seed; None where a key is absent or not a number."""
    keys = [c.key] + ([c.minus] if c.minus else [])
    if any(k not in d or d[k] is None or not math.isfinite(d[k]) for k in keys):
        return None
    return d[c.key] - (d[c.minus] if c.minus else 0.0)


def _what(c: Criterion) -> str:
    return c.key + (f" − {c.minus}" if c.minus else "")


def evaluate(
    main: Diagnostics, control: Diagnostics | None, thresholds: Mapping[str, float]
) -> list[dict]:
    """Every criterion's rows, per size of ``main`` (``control``: the control run's
    diagnostics, None when the config has none; ``thresholds``: the config's ``prereg``)."""
    rows = []
    for size in sorted(main):
        for c in CRITERIA:
            rows += _rows(c, size, main if c.run == "main" else control, thresholds)
    return rows


def _rows(c: Criterion, size: str, run: Diagnostics | None, thresholds) -> list[dict]:
    test = TESTS[c.test]
    t = thresholds[c.threshold] if c.threshold else None
    row = dict(section=c.section, criterion=c.name, size=size, threshold=test.text.format(t=t))

    def na(seed, note: str) -> dict:
        return dict(row, seed=seed, mean=None, se=None, n=0, value="", status=NA, note=note)

    def judged(seed, mean: float, se: float | None, n: int, value: str, note="") -> dict:
        status = MET if test.passes(mean, se or 0.0, t) else NOT_MET
        return dict(row, seed=seed, mean=mean, se=se, n=n, value=value, status=status, note=note)

    if run is None:
        return [na("mean", "no control run (config `control`, and fig5 in `figures`)")]
    if size not in run:
        return [na("mean", f"the {c.run} run has no size {size}")]
    values = {seed: _value(d, c) for seed, d in sorted(run[size].items())}
    have = {seed: v for seed, v in values.items() if v is not None}
    missing = [seed for seed, v in values.items() if v is None]
    out = []
    if c.per_seed:
        for seed, v in values.items():
            if v is None:
                out.append(na(seed, f"no {_what(c)} in seed {seed}'s diagnostics"))
            else:
                out.append(judged(seed, v, None, 1, f"{v:.3f}"))
    if not have:
        reason = f"no {_what(c)} in the {c.run} run's diagnostics (a task without r*, "
        reason += "a policy not evaluated, or no gate: no sft generator)"
        return out + [na("mean", reason)]
    n = len(have)
    mean = statistics.fmean(have.values())
    se = statistics.stdev(have.values()) / math.sqrt(n) if n > 1 else None
    value = f"{mean:.3f}" + (f" ± {se:.3f}" if se is not None else "")
    value += f" ({n} seed{'s' if n > 1 else ''})"
    if test.needs_se and se is not None and se > 0:
        value += f" = {mean / se:+.1f} SE"
    note = f"left out: seeds {missing} (no {_what(c)})" if missing else ""
    if test.needs_se and se is None:
        key = "control.seeds" if c.run == "control" else "seeds"
        why = f"one seed: no SE over seeds (config `{key}`)"
        return out + [dict(na("mean", "; ".join(filter(None, [note, why]))), mean=mean, n=n,
                           value=value)]  # fmt: skip
    return out + [judged("mean", mean, se, n, value, note)]


def to_markdown(rows: list[dict]) -> str:
    """The rows as one markdown table: criterion, size, seed, threshold, value, met?"""
    lines = ["| section | criterion | size | seed | threshold | value | met? |"]
    lines.append("|---|---|---|---|---|---|---|")
    for r in rows:
        met = r["status"] + (f": {r['note']}" if r["note"] else "")
        cells = [r["section"], r["criterion"], r["size"], str(r["seed"]), r["threshold"]]
        lines.append("| " + " | ".join([*cells, r["value"], met]) + " |")
    return "\n".join(lines) + "\n"
