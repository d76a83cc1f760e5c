"""Online preference pairs: score each prompt's samples with an RM, keep the top and bottom."""

from __future__ import annotations

from collections import defaultdict

from .io import DataError


def is_tied(chosen: str, rejected: str, score_chosen: float, score_rejected: float) -> bool:
    """A top/bottom pair that states no preference: equal scores or the same text."""
    return score_chosen == score_rejected or chosen == rejected


def select_pairs(samples: list[dict], scores: list[float]) -> tuple[list[dict], dict[str, int]]:
    """Per prompt: chosen = highest score, rejected = lowest; the lowest sample index wins ties.

    Every prompt gives exactly one pair, even when its best and worst scores tie or its top and
    bottom samples are the same text (as the authors' public code does: top/bottom of the n
    samples, no filtering). So online DPO sees as many pairs as there are prompts and takes the
    same number of optimizer steps as offline DPO on the same prompts, the control Section 3's
    comparison rests on. A tied pair carries no gradient in DPO (its margin is identically 0
    when the texts are equal) but still counts as a step; the share of them is reported
    (``tied``) and in the diagnostics table.
    """
    by_prompt: dict[str, list[tuple[float, int, dict]]] = defaultdict(list)
    for s, sc in zip(samples, scores, strict=True):
        by_prompt[s["prompt_id"]].append((sc, s["sample_idx"], s))
    pairs, tied = [], 0
    for pid in sorted(by_prompt):
        items = sorted(by_prompt[pid], key=lambda t: t[1])  # by sample index
        top = max(items, key=lambda t: t[0])  # max/min return the first of equal scores
        bottom = min(items, key=lambda t: t[0])
        tied += is_tied(top[2]["completion"], bottom[2]["completion"], top[0], bottom[0])
        pair = {
            "id": pid,
            "chosen": top[2]["completion"],
            "rejected": bottom[2]["completion"],
            "score_chosen": top[0],
            "score_rejected": bottom[0],
        }
        for side, (_, _, sample) in (("chosen", top), ("rejected", bottom)):
            if "completion_ids" in sample:  # the tokens as drawn, which online DPO trains on
                pair[f"{side}_ids"] = sample["completion_ids"]
                pair[f"{side}_truncated"] = sample["truncated"]
        pairs.append(pair)
    return pairs, {"prompts": len(by_prompt), "pairs": len(pairs), "tied": tied}


def penalize_truncated(
    scores: list[float], truncated: list[bool], penalty: float | None
) -> list[float]:
    """The TL;DR recipes' rule for a response without EOS: its score is a fixed ``penalty``.

    summarize_from_feedback_details (``penalty_reward_value``, ``non_eos_penalty``) and the
    authors' REBEL code (src/tldr, ``penalty_reward_value = -1``) replace the RM score of a
    response that reached the length limit without EOS by -1, on an RM normalized so that its
    scores sit around 0. Our RM is not normalized, so scores are first shifted to mean 0 over
    the finished samples (a shift changes no comparison between them); the constant then means
    what it means there. ``penalty=None`` keeps the RM score of the truncated tokens as drawn.
    """
    if penalty is None:
        return list(scores)
    finished = [s for s, t in zip(scores, truncated, strict=True) if not t]
    center = sum(finished) / len(finished) if finished else 0.0
    return [float(penalty) if t else s - center for s, t in zip(scores, truncated, strict=True)]


def append_eos(samples: list[dict], eos_id: int) -> list[dict]:
    """The authors' online labels (REBEL src/tldr/process_vllm.py:155): each response is
    re-tokenized by a tokenizer that appends EOS, so a sample that reached H tokens without one
    is scored by the RM, and trained on by online DPO, with EOS appended. Returns copies whose
    ``completion_ids`` end with ``eos_id``; samples that drew EOS are unchanged. (``truncated``
    still records that the policy drew none.)"""
    out = []
    for s in samples:
        if s["truncated"] and (not s["completion_ids"] or s["completion_ids"][-1] != eos_id):
            s = {**s, "completion_ids": [*s["completion_ids"], eos_id]}
        out.append(s)
    return out


def online_pairs(
    samples: list[dict],
    raw_scores: list[float],
    prompts: dict[str, dict],
    prompt_ids: dict[str, list[int]],
    truncated_score: float | None,
    eos_appended: bool = False,
) -> tuple[list[dict], dict, list[dict]]:
    """Rule label_online after ranking: each sample's ranker score (a sample without EOS gets
    ``truncated_score``, :func:`penalize_truncated`), top/bottom per prompt (:func:`select_pairs`),
    and each pair's prompt text, ``post`` and ``prompt_ids`` (the tokens the generator was
    conditioned on), which online DPO trains on with the drawn ``chosen_ids``/``rejected_ids``
    (with ``eos_appended``, the samples went through :func:`append_eos` before ranking: the
    stats record it). Returns the pairs, their stats and every sample's score
    (:func:`score_rows`)."""
    truncated = [bool(s["truncated"]) for s in samples]
    scores = penalize_truncated(raw_scores, truncated, truncated_score)
    pairs, stats = select_pairs(samples, scores)
    for pair in pairs:
        pid = pair["id"]
        pair.update(
            prompt=prompts[pid]["prompt"], post=prompts[pid]["post"], prompt_ids=prompt_ids[pid]
        )
    stats["truncated_samples"] = sum(truncated)
    stats["truncated_score"] = truncated_score
    stats["append_eos"] = eos_appended
    return pairs, stats, score_rows(samples, scores)


def score_rows(samples: list[dict], scores: list[float]) -> list[dict]:
    """Rule label_online's scores file (``online/<size>/seed<k>/<gen>.scores.jsonl``): one row
    per prompt, sorted by id as the pairs, ``{"id": prompt id, "scores": [...]}`` where
    ``scores[k]`` is the score its sample ``sample_idx`` k was ranked by (after the truncation
    penalty): the pair's ``score_chosen``/``score_rejected`` are its first maximum/minimum.
    What rule diagnose's gate reads instead of scoring the samples again. A sample_idx twice
    for a prompt, or a gap in them, is a one-line DataError naming the prompt."""
    by_prompt: dict[str, dict[int, float]] = defaultdict(dict)
    for s, sc in zip(samples, scores, strict=True):
        pid, k = s["prompt_id"], int(s["sample_idx"])
        if k in by_prompt[pid]:  # else one score would silently stand for two samples
            raise DataError(f"online samples: prompt {pid!r} has sample_idx {k} twice")
        by_prompt[pid][k] = sc
    rows = []
    for pid in sorted(by_prompt):
        got = by_prompt[pid]
        if sorted(got) != list(range(len(got))):
            raise DataError(
                f"online samples: prompt {pid!r}: sample_idx {sorted(got)} is not 0..{len(got) - 1}"
            )
        rows.append({"id": pid, "scores": [got[k] for k in range(len(got))]})
    return rows


def scores_of(samples: list[dict], rows: list[dict], path: str = "scores") -> list[float]:
    """The scores of ``samples``, in their order, from a scores file's ``rows``
    (:func:`score_rows`, read from ``path``); a sample it has no score for is a one-line
    DataError naming the file and the sample."""
    table = {r["id"]: r["scores"] for r in rows}
    out = []
    for s in samples:
        pid, k = s["prompt_id"], int(s["sample_idx"])
        if not 0 <= k < len(table.get(pid, ())):
            raise DataError(f"{path}: no score for prompt {pid!r} sample_idx {k}")
        out.append(table[pid][k])
    return out
