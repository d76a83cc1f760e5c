"""The gate: can a ranker pick out the better of a policy's own samples? (toy tasks with r*)

Measured on a generator's online samples before any online-vs-offline claim, per ranker (the
global RM; offline DPO's implicit reward). The ranker's top and bottom sample of each prompt
form the pair online DPO would train on (:func:`allroads.pairs.select_pairs`, after the same
truncation penalty as ``label_online``). Metrics:

- ``tie_share``: prompts whose top and bottom are one text or one score (no preference);
- ``rstar_tie_share``: prompts whose samples all have one r* (no headroom for any ranker);
- ``rstar_agree``: on the pairs with unequal r*, the top sample has the higher r*;
- ``bok_gain_share``: the ranker's pick's mean r* gain over the mean sample, as a share of the
  oracle pick's gain (the best sample by r*); 1 = as good as r*, 0 = no better than chance;
- ``bok_rstar_pick``, ``bok_rstar_oracle``, ``bok_rstar_mean``: the three means it divides.

Rule ``diagnose`` reports them for the SFT generator's online samples as
``gate_<ranker>_<metric>`` (:func:`gate_metrics`), ranker ``rm`` (the global RM: the scores
``label_online`` ranked the samples by, read from its scores file; scored here only where
``online.ranker`` is another ranker) and ``dpo`` (offline DPO's implicit reward
β·(log π_dpo − log π_sft), scored here).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from .diagnostics import pair_accuracy
from .pairs import penalize_truncated, select_pairs

if TYPE_CHECKING:  # torch only where a ranker is loaded
    from .reward_models import RewardModel


def ranker_gate(
    samples: list[dict],
    scores: list[float],
    posts: dict[str, str],
    reward: Callable[[str, str], float],
    truncated_score: float | None = -1.0,
) -> dict[str, float]:
    """The gate's metrics (module docstring) of one ranker's ``scores`` of ``samples`` (rows
    with ``prompt_id``, ``sample_idx``, ``completion``, ``truncated``); ``posts``: prompt id ->
    judge-visible post; ``reward``: the task's r*."""
    truncated = [bool(s.get("truncated", False)) for s in samples]
    pairs, stats = select_pairs(samples, penalize_truncated(scores, truncated, truncated_score))
    rc = [reward(posts[p["id"]], p["chosen"]) for p in pairs]
    rr = [reward(posts[p["id"]], p["rejected"]) for p in pairs]
    differ = [(a, b) for a, b in zip(rc, rr, strict=True) if a != b]
    by_prompt: dict[str, list[float]] = defaultdict(list)
    for s in samples:
        by_prompt[s["prompt_id"]].append(reward(posts[s["prompt_id"]], s["completion"]))
    n = max(1, len(by_prompt))
    pick = sum(rc) / max(1, len(rc))
    oracle = sum(max(v) for v in by_prompt.values()) / n
    mean = sum(sum(v) / len(v) for v in by_prompt.values()) / n
    return {
        "tie_share": stats["tied"] / max(1, stats["pairs"]),
        "rstar_tie_share": sum(len(set(v)) == 1 for v in by_prompt.values()) / n,
        "rstar_agree": pair_accuracy([a for a, _ in differ], [b for _, b in differ]),
        "bok_gain_share": (pick - mean) / (oracle - mean) if oracle > mean else float("nan"),
        "bok_rstar_pick": pick,
        "bok_rstar_oracle": oracle,
        "bok_rstar_mean": mean,
    }


def gate_metrics(
    samples: list[dict],
    prompt_ids: Mapping[str, list[int]],
    posts: dict[str, str],
    reward: Callable[[str, str], float],
    rankers: Mapping[str, Callable[[], RewardModel]],
    truncated_score: float | None = -1.0,
    ranked: Mapping[str, list[float]] | None = None,
) -> dict[str, float]:
    """``gate_<label>_<metric>``: :func:`ranker_gate` of each ranker's scores of ``samples``.
    ``ranked``: label -> the scores a ranker already gave ``samples`` (in their order) and
    ranked them by, truncation penalty included (``label_online``'s scores file,
    :func:`allroads.pairs.scores_of`), used as they are. ``rankers``: label -> a loader of an
    RM (:mod:`allroads.reward_models`, or anything with its ``score``), loaded one at a time
    (one ranker's models in memory at once), that scores each sample (rows with
    ``completion_ids`` too) on ``prompt_ids[its prompt]`` plus its tokens as drawn, as
    ``label_online`` scores them, then penalized as there (``truncated_score``)."""
    out: dict[str, float] = {}

    def add(label: str, scores: list[float], penalty: float | None) -> None:
        gate = ranker_gate(samples, scores, posts, reward, penalty)
        out.update({f"gate_{label}_{k}": v for k, v in gate.items()})

    for label, scores in (ranked or {}).items():
        add(label, scores, None)  # penalized already
    p_ids = [prompt_ids[s["prompt_id"]] for s in samples]
    c_ids = [s["completion_ids"] for s in samples]
    for label, load in rankers.items():
        add(label, load().score(p_ids, c_ids), truncated_score)
    return out
