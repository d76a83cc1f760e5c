"""Did each model learn? Per (size, seed) measurements that a figure alone cannot show.

One concept: the learning diagnostics of a run, written as a long table (``size, seed,
metric, value``) by the ``diagnose`` rule and summarised over seeds by ``table_diagnostics``.
Metrics (``<gen>`` = an online generator, ``<model>`` = a checkpoint):

- ``rm_acc_labels``: global RM ranks the labelled chosen over the rejected, on ``pft_val``;
- ``rm_acc_rstar``: the same against the hidden reward r* (toy task; pairs with unequal r*);
- ``label_acc_rstar``: the labels' own agreement with r* on those pairs (the ceiling);
- ``<policy>_implicit_acc``: an offline DPO policy's implicit reward β·(log π − log π_sft)
  ranks chosen over rejected on ``pft_val``;
- ``online_<gen>_tie_share``: prompts whose top and bottom samples are the same text or score;
- ``online_<gen>_rm_rstar_agree``: on the online pairs with unequal r*, the RM's top sample has
  the higher r*;
- ``online_<gen>_differ_<kind>``: what those pairs differ in (share of them; ``<kind>`` one of
  the task's ``slips`` (the facts toy: ``allroads.toytask.SLIPS``): the checks of ``rm_check_<kind>`` below, ``added_distractor``,
  ``other``), and ``online_<gen>_rm_rstar_agree_<kind>`` the RM's agreement on each kind
  present: which checks the policy's own samples put to the RM (toy task);
- ``online_<gen>_bo25_rstar_rm``: mean r* of the RM's pick among the n samples (Best-of-n: what
  online DPO could at best reach from those samples); ``..._oracle``: the best by r* itself;
  ``..._mean``: the mean sample;
- ``rm_check_<kind>``, ``<policy>_check_<kind>``: which of r*'s checks the global RM and the
  offline DPO policies' implicit rewards learned, on minimal pairs of ``pft_val`` posts (the
  perfect summary against one slip: ``order``, ``drop``, ``distractor``, ``wrong_object``,
  ``repeat``; :func:`check_metrics`; toy task);
- ``gate_<ranker>_<metric>``: the gate (:mod:`allroads.gate`, toy task, with an ``sft``
  generator): can a ranker pick out the better of the SFT's own online samples? Ranker ``rm``
  (the global RM: the scores ``label_online`` ranked the samples by, from its scores file) or
  ``dpo`` (offline DPO's implicit reward β·(log π_dpo − log π_sft), β of ``train.dpo``);
  metric ``tie_share``,
  ``rstar_tie_share``, ``rstar_agree``, ``bok_gain_share`` (its pick's r* gain over the mean
  sample as a share of the oracle's), ``bok_rstar_{pick,oracle,mean}``. With the default
  ranker, ``gate_rm_tie_share``, ``gate_rm_rstar_agree`` and ``gate_rm_bok_rstar_*`` are
  ``online_sft_tie_share``, ``online_sft_rm_rstar_agree`` and ``online_sft_bo25_rstar_*``
  recomputed from all the samples' scores (the same picks; with another ``online.ranker``
  the global RM scores the samples in ``diagnose``);
- ``steps_<model>``: optimizer steps of every training run;
- ``eval_rstar_<policy>``: mean r* of the evaluation summaries (before/after preference training).

The r* metrics exist only for the toy task; at paper scale they are absent, not zero.

The variants (Figures 6-8; ``diagnose_variants``, :func:`variant_online_metrics`) add, per
variant ``V``: ``pairs_V_tie_share`` (its pairs whose two completions are one text),
``pairs_V_mean_rouge_{chosen,rejected}`` (ROUGE-L pairs) or ``pairs_V_label_agreement_with_rstar``
(judged pairs, toy), and per variant generator ``online_V.g_*`` as above, plus
``online_V.g_rm_rouge_agree``: for a ROUGE-L variant, on its online pairs whose ROUGE-L F1
against the preferred completion differs, the RM's top sample has the higher ROUGE-L (did the
RM learn the metric it was trained on, on samples it never saw); ``steps_<V.model>``; and, for
a variant that trains on its own pairs, its models on the held-out human pairs exactly as the
default chain's (:func:`held_out_metrics`): ``V.global_rm_acc_labels``,
``V.global_rm_acc_rstar`` (toy; the labels' own ceiling is the default table's
``label_acc_rstar``, the same pairs) and ``V.<dpo|dpo2x>_implicit_acc``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .io import read_json


def pair_accuracy(better: Iterable[float], worse: Iterable[float]) -> float:
    """Share of pairs whose first score is strictly higher; ties count one half."""
    pairs = list(zip(better, worse, strict=True))
    if not pairs:
        return float("nan")
    return sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in pairs) / len(pairs)


def agreement_with_truth(
    score_a: list[float], score_b: list[float], true_a: list[float], true_b: list[float]
) -> float:
    """On pairs whose true rewards differ: share where the scores order them the same way."""
    keep = [i for i in range(len(true_a)) if true_a[i] != true_b[i]]
    return pair_accuracy(
        [score_a[i] if true_a[i] > true_b[i] else score_b[i] for i in keep],
        [score_b[i] if true_a[i] > true_b[i] else score_a[i] for i in keep],
    )


@dataclass(frozen=True)
class HeldOut:
    """Held-out preference pairs (``pft_val``) and, on the toy task, r* of both sides."""

    prompts: list[str]
    chosen: list[str]
    rejected: list[str]
    true_chosen: list[float] | None = None
    true_rejected: list[float] | None = None

    @classmethod
    def from_rows(cls, rows: list[dict], reward: Callable[[str, str], float] | None = None):
        """Rows with ``prompt``, ``chosen``, ``rejected`` (and ``post`` given the true reward)."""
        truth = {}
        if reward is not None:
            truth = {
                f"true_{k}": [reward(r["post"], r[k]) for r in rows] for k in ("chosen", "rejected")
            }
        return cls(
            [r["prompt"] for r in rows],
            [r["chosen"] for r in rows],
            [r["rejected"] for r in rows],
            **truth,
        )

    @property
    def has_truth(self) -> bool:
        return self.true_chosen is not None

    def scores(self, rm) -> tuple[list[float], list[float]]:
        """The scores of reward model ``rm`` (allroads.reward_models) for the chosen and the
        rejected sides."""
        return rm.score_text(self.prompts, self.chosen), rm.score_text(self.prompts, self.rejected)


def score_accuracy(
    held: HeldOut, score_chosen: list[float], score_rejected: list[float]
) -> dict[str, float]:
    """``acc_labels``: the scores rank the labelled chosen over the rejected; ``acc_rstar``
    (given r*): on the pairs with unequal r*, they order them as r* does."""
    out = {"acc_labels": pair_accuracy(score_chosen, score_rejected)}
    if held.has_truth:
        out["acc_rstar"] = agreement_with_truth(
            score_chosen, score_rejected, held.true_chosen, held.true_rejected
        )
    return out


def pair_scores(
    held: HeldOut,
    rms: Mapping[str, str],
    policies: Mapping[str, str],
    sft: str | None = None,
    precision: str = "fp32",
) -> dict[str, tuple[list[float], list[float]]]:
    """``label -> (chosen scores, rejected scores)`` on the held-out pairs: for each ``label ->
    checkpoint`` of ``rms`` (global RMs, loaded in ``precision``) its reward; of ``policies``
    (DPO policies of reference ``sft``) the implicit reward log π − log π_sft (β > 0 does not
    change the order). The SFT's log-probs are computed once for every policy."""
    from .reward_models import from_dirs, implicit_reward, text_logps

    out = {label: held.scores(from_dirs("global", [path], precision=precision))
           for label, path in rms.items()}  # fmt: skip
    if policies:
        if sft is None:
            raise ValueError("the implicit reward of a DPO policy needs its SFT reference")
        sft_c, sft_r = text_logps(sft, held.prompts, held.chosen, held.rejected)
        for label, path in policies.items():
            pc, pr = text_logps(path, held.prompts, held.chosen, held.rejected)
            out[label] = (implicit_reward(pc, sft_c), implicit_reward(pr, sft_r))
    return out


def held_out_metrics(
    held: HeldOut,
    rms: Mapping[str, str],
    policies: Mapping[str, str],
    sft: str | None = None,
    precision: str = "fp32",
) -> dict[str, float]:
    """Did the global RMs and offline DPO policies learn the held-out preferences? For each
    ``label`` of ``rms``: ``<label>_acc_labels`` and, given r*, ``<label>_acc_rstar``
    (:func:`score_accuracy`); of ``policies``: ``<label>_implicit_acc``, the implicit reward
    ranking chosen over rejected (:func:`pair_scores`)."""
    m: dict[str, float] = {}
    for label, (sc, sr) in pair_scores(held, rms, policies, sft, precision).items():
        if label in rms:
            m.update({f"{label}_{k}": v for k, v in score_accuracy(held, sc, sr).items()})
        else:
            m[f"{label}_implicit_acc"] = pair_accuracy(sc, sr)
    return m


def check_metrics(
    checks: list[dict],
    rms: Mapping[str, str],
    policies: Mapping[str, str],
    sft: str | None = None,
    precision: str = "fp32",
) -> dict[str, float]:
    """Which of r*'s checks did each model learn (toy task)? On the minimal pairs of
    ``allroads.toytask.check_pairs`` (perfect summary against one slip, tagged ``kind``):
    ``<label>_check_<kind>``, the share where the RM's reward or the policy's implicit reward
    (:func:`pair_scores`) prefers the perfect summary. Chance is 0.5. A verifier that checks
    what its generator gets wrong is the generation–verification gap the paper relies on."""
    by_kind: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(checks):
        by_kind[row["kind"]].append(i)
    m: dict[str, float] = {}
    for label, (sc, sr) in pair_scores(
        HeldOut.from_rows(checks), rms, policies, sft, precision
    ).items():
        for kind, keep in by_kind.items():
            m[f"{label}_check_{kind}"] = pair_accuracy([sc[i] for i in keep], [sr[i] for i in keep])
    return m


def optimizer_steps(model_dir: str | Path) -> int:
    """Optimizer steps of a training run, from the ``train_metrics.json`` it saved."""
    metrics = read_json(Path(model_dir) / "train_metrics.json")
    steps = [h["step"] for h in metrics.get("log_history", []) if "step" in h]
    return int(max(steps)) if steps else 0


def online_metrics(
    samples: list[dict],
    pairs: list[dict],
    posts: dict[str, str],
    reward=None,
    slip=None,
    slips: Sequence[str] | None = None,
) -> dict[str, float]:
    """Tie share of the online pairs and, given the true reward, how good the RM's picks are.
    Given ``slip(post, a, b) -> kind`` and its kinds ``slips`` too (the task's
    :meth:`~allroads.tasks.Task.slip_kind` and :attr:`~allroads.tasks.Task.slips`): what the
    pairs with unequal r* differ in (``differ_<kind>``, shares) and the RM's agreement with r*
    on each kind present (``rm_rstar_agree_<kind>``)."""
    from .pairs import is_tied

    out = {
        "tie_share": sum(
            is_tied(p["chosen"], p["rejected"], p["score_chosen"], p["score_rejected"])
            for p in pairs
        )
        / max(1, len(pairs)),
        "pairs": float(len(pairs)),
    }
    if reward is None:
        return out
    rc = [reward(posts[p["id"]], p["chosen"]) for p in pairs]
    rr = [reward(posts[p["id"]], p["rejected"]) for p in pairs]
    differ = [(a, b) for a, b in zip(rc, rr, strict=True) if a != b]  # chosen = the RM's top
    out["rm_rstar_agree"] = pair_accuracy([a for a, _ in differ], [b for _, b in differ])
    if slips is not None:
        by_kind: dict[str, list[tuple[float, float]]] = {k: [] for k in slips}
        for p, a, b in zip(pairs, rc, rr, strict=True):
            if a != b:
                by_kind[slip(posts[p["id"]], p["chosen"], p["rejected"])].append((a, b))
        for kind, got in by_kind.items():
            out[f"differ_{kind}"] = len(got) / max(1, len(differ))
            if got:
                out[f"rm_rstar_agree_{kind}"] = pair_accuracy(*zip(*got, strict=True))
    by_prompt: dict[str, list[float]] = defaultdict(list)
    for s in samples:
        by_prompt[s["prompt_id"]].append(reward(posts[s["prompt_id"]], s["completion"]))
    out["bo25_rstar_rm"] = sum(rc) / max(1, len(rc))
    out["bo25_rstar_oracle"] = sum(max(v) for v in by_prompt.values()) / max(1, len(by_prompt))
    out["bo25_rstar_mean"] = sum(sum(v) / len(v) for v in by_prompt.values()) / max(
        1, len(by_prompt)
    )
    return out


def variant_online_metrics(
    samples: list[dict], pairs: list[dict], prompts: dict[str, dict], reward=None, rouge=False
) -> dict[str, float]:
    """:func:`online_metrics` of a variant generator's pairs (samples and pairs may cover extra
    prompts: those without a post in ``prompts`` are left out of the r* metrics), and for a
    ROUGE-L variant the RM's agreement with ROUGE-L F1 against the preferred completion."""
    posts = {k: r["post"] for k, r in prompts.items()}
    known = [p for p in pairs if p["id"] in posts]
    out = online_metrics([s for s in samples if s["prompt_id"] in posts], known, posts, reward)
    out["pairs"] = float(len(pairs))
    if rouge:
        from .rouge import rouge_l_f1

        ref = {k: r["chosen"] for k, r in prompts.items()}
        a = [rouge_l_f1(ref[p["id"]], p["chosen"]) for p in known]
        b = [rouge_l_f1(ref[p["id"]], p["rejected"]) for p in known]
        differ = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
        out["rm_rouge_agree"] = pair_accuracy([x for x, _ in differ], [y for _, y in differ])
    return out


def summarize(long_rows: list[dict]):
    """Mean ± s.e. over seeds of every metric, per size (a pandas DataFrame)."""
    import pandas as pd

    df = pd.DataFrame(long_rows)
    g = df.groupby(["size", "metric"], sort=True)["value"]
    out = g.agg(["mean", "std", "count"]).reset_index()
    out["se"] = out["std"] / out["count"].pow(0.5)
    return out.drop(columns="std").rename(columns={"count": "seeds"})


def to_markdown(summary) -> str:
    lines = ["| size | metric | mean ± s.e. (seeds) | seeds |", "|---|---|---|---|"]
    for r in summary.itertuples():
        se = "" if r.seeds < 2 else f" ± {r.se:.3f}"
        lines.append(f"| {r.size} | {r.metric} | {r.mean:.3f}{se} | {r.seeds} |")
    return "\n".join(lines) + "\n"
