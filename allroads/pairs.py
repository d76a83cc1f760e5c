"""Online preference pairs: score each prompt's samples with an RM, keep the top and bottom."""

from __future__ import annotations

from collections import defaultdict

import torch
from tqdm.auto import tqdm

from . import models


def select_pairs(samples: list[dict], scores: list[float]) -> tuple[list[dict], dict[str, int]]:
    """Per prompt: chosen = highest score, rejected = lowest; first sample wins exact ties.

    Prompts whose best and worst scores tie, or whose top and bottom completions are the same
    text, give no preference and are dropped (counted in the returned stats).
    """
    by_prompt: dict[str, list[tuple[float, int, dict]]] = defaultdict(list)
    for s, sc in zip(samples, scores, strict=True):
        by_prompt[s["prompt_id"]].append((sc, s["sample_idx"], s))
    pairs, dropped = [], 0
    for pid in sorted(by_prompt):
        items = sorted(by_prompt[pid], key=lambda t: t[1])  # by sample index
        top = max(items, key=lambda t: t[0])  # max/min return the first of equal scores
        bottom = min(items, key=lambda t: t[0])
        if top[0] == bottom[0] or top[2]["completion"] == bottom[2]["completion"]:
            dropped += 1
            continue
        pairs.append(
            {
                "id": pid,
                "chosen": top[2]["completion"],
                "rejected": bottom[2]["completion"],
                "score_chosen": top[0],
                "score_rejected": bottom[0],
            }
        )
    return pairs, {"prompts": len(by_prompt), "pairs": len(pairs), "dropped_ties": dropped}


@torch.no_grad()
def score_with_rm(
    rm_dir: str,
    prompts: list[str],
    completions: list[str],
    precision: str = "fp32",
    batch_size: int = 256,
) -> list[float]:
    """Global RM score of prompt + completion + EOS (the exact text RewardTrainer trained on)."""
    tok = models.load_tokenizer(rm_dir)
    tok.padding_side = "right"
    device = models.default_device()
    rm = models.load_reward_model(rm_dir, precision, device).eval()
    rm.config.pad_token_id = tok.pad_token_id
    texts = [p + c + tok.eos_token for p, c in zip(prompts, completions, strict=True)]
    out: list[float] = []
    for i in tqdm(range(0, len(texts), batch_size), desc="RM scoring", mininterval=2):
        enc = tok(texts[i : i + batch_size], return_tensors="pt", padding=True).to(device)
        out.extend(rm(**enc).logits[:, 0].float().cpu().tolist())
    return out
