"""ROUGE-L as the reward (Figure 6): preference pairs ranked by ROUGE-L F1, and evaluation.

Appendix C.1: the 25 samples of the SFT policy at T = 0.1 on every PFT train prompt are ranked
by ROUGE-L F1 against that prompt's preferred completion; the highest and lowest become the
preferred / dis-preferred pair. C.4: policies are evaluated by ROUGE-L F1 (T = 0.01) against
the preferred completions of the PFT validation split, which no training step observes.
ROUGE-L is Google's ``rouge-score`` package (the reference implementation), its defaults (no
stemming), F-measure.
"""

from __future__ import annotations

from functools import lru_cache

from .pairs import select_pairs


@lru_cache(maxsize=1)
def _scorer():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"])


def rouge_l_f1(reference: str, candidate: str) -> float:
    """ROUGE-L F1 of ``candidate`` against ``reference`` (0 when either has no word)."""
    return float(_scorer().score(reference, candidate)["rougeL"].fmeasure)


def rouge_pairs(samples: list[dict], prompts: dict[str, dict]) -> tuple[list[dict], dict]:
    """Top / bottom of each prompt's samples by ROUGE-L F1 against its ``chosen`` completion, as
    text preference rows ``{id, prompt, post, chosen, rejected, score_chosen, score_rejected}``
    (the shape of the PFT pairs: the RM and offline DPO read them as they read human pairs).
    Every prompt gives one pair, ties included, as the online pairs do (pairs.select_pairs)."""
    scores = [rouge_l_f1(prompts[s["prompt_id"]]["chosen"], s["completion"]) for s in samples]
    pairs, stats = select_pairs(samples, scores)
    rows = []
    for p in pairs:
        src = prompts[p["id"]]
        rows.append(
            {
                "id": p["id"],
                "prompt": src["prompt"],
                "post": src["post"],
                "chosen": p["chosen"],
                "rejected": p["rejected"],
                "score_chosen": p["score_chosen"],
                "score_rejected": p["score_rejected"],
            }
        )
    stats["mean_rouge_samples"] = sum(scores) / max(1, len(scores))
    stats["mean_rouge_chosen"] = sum(r["score_chosen"] for r in rows) / max(1, len(rows))
    stats["mean_rouge_rejected"] = sum(r["score_rejected"] for r in rows) / max(1, len(rows))
    return rows, stats


def score_samples(prompts: list[dict], samples: list[dict], tags: dict) -> list[dict]:
    """One row per evaluation prompt: ``score`` = ROUGE-L F1 of the policy's sample (lowest
    sample index) against the prompt's preferred completion, in the judgment-row shape the
    tables read (``valid`` always true: ROUGE-L has no invalid reply)."""
    first: dict[str, dict] = {}
    for s in samples:
        if s["prompt_id"] not in first or s["sample_idx"] < first[s["prompt_id"]]["sample_idx"]:
            first[s["prompt_id"]] = s
    missing = [p["id"] for p in prompts if p["id"] not in first]
    if missing:
        raise ValueError(f"samples lack {len(missing)} evaluation prompts, e.g. {missing[:3]}")
    return [
        {
            "id": p["id"],
            "prompt_id": p["id"],
            "score": rouge_l_f1(p["chosen"], first[p["id"]]["completion"]),
            "valid": True,
            "candidate": first[p["id"]]["completion"],
            **tags,
        }
        for p in prompts
    ]
