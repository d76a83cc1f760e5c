"""Sequence log-probabilities of completions, optionally with temperature-scaled logits.

Online DPO regularizes to the policy that generated the samples *as it sampled them*: its logits
divided by the sampling temperature T before the softmax (Table 3). TRL computes untempered
reference log-probs only, so this module computes them (in fp32) and hands them to the trainer
as the ``ref_chosen_logps`` / ``ref_rejected_logps`` dataset columns. The trained policy's
log-probs at T come from TRL's own fused LM head (allroads.training._temper_policy).
"""

from __future__ import annotations

import torch
from tqdm.auto import tqdm


def completion_logps(
    model,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    completion_mask: torch.Tensor,
    temperature: float = 1.0,
) -> torch.Tensor:
    """Sum over completion tokens of log softmax(logits / T) at the realized tokens.

    ``completion_mask[b, t] = 1`` marks token t as part of the completion (it is scored given the
    tokens before it). Shapes: (batch, seq). Returns (batch,).
    """
    logits = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits
    logits = logits[:, :-1].float() / temperature
    targets = input_ids[:, 1:]
    logp = torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return (logp * completion_mask[:, 1:].to(logp.dtype)).sum(-1)


@torch.no_grad()
def batched_completion_logps(
    model, batches, temperature: float = 1.0, desc: str = "log-probs", device: str = "cpu"
) -> torch.Tensor:
    """Apply :func:`completion_logps` over an iterable of collated batches (eval mode).

    No autocast: with an fp32 model the log-probs are fp32 end to end (a reference scaled by
    1/T = 10 amplifies any rounding of its logits ten-fold).
    """
    was_training = model.training
    model.eval()
    out = []
    device_type = torch.device(device).type
    with torch.autocast(device_type, enabled=False):
        for batch in tqdm(batches, desc=desc, mininterval=2):
            out.append(
                completion_logps(
                    model,
                    batch["input_ids"].to(device),
                    batch["attention_mask"].to(device),
                    batch["completion_mask"].to(device),
                    temperature,
                ).cpu()
            )
    model.train(was_training)
    return torch.cat(out) if out else torch.empty(0)
