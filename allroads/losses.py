"""The paper's preference losses as plain functions of sequence scores.

The workflow does not call these: it trains with TRL's trainers (allroads.training), whose loss
tests/test_losses.py checks against hand computations. They are the plain-PyTorch baseline
bench/bench_dpo_step.py times TRL's DPO step against.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bradley_terry_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """Global RM: -log σ(r(ξ+) - r(ξ-)), mean over pairs (Eq. 6)."""
    return -F.logsigmoid(r_chosen - r_rejected).mean()


def dpo_loss(
    logp_chosen: torch.Tensor,
    logp_rejected: torch.Tensor,
    ref_logp_chosen: torch.Tensor,
    ref_logp_rejected: torch.Tensor,
    beta: float,
) -> torch.Tensor:
    """DPO: -log σ(β[(log π(ξ+) - log π_ref(ξ+)) - (log π(ξ-) - log π_ref(ξ-))])."""
    margin = (logp_chosen - ref_logp_chosen) - (logp_rejected - ref_logp_rejected)
    return -F.logsigmoid(beta * margin).mean()


def reference_free_dpo_loss(
    logp_chosen: torch.Tensor, logp_rejected: torch.Tensor, beta: float
) -> torch.Tensor:
    """Local RM (no π_ref, Table 4): -log σ(β[log π(ξ+) - log π(ξ-)])."""
    return -F.logsigmoid(beta * (logp_chosen - logp_rejected)).mean()
