"""Reward models behind one interface: ``score(prompt_ids, completion_ids) -> rewards``.

Three kinds (Section 2.2, Appendix A.5 of the paper), each one class; adding a kind is one
more subclass registered in :data:`KINDS`:

- ``global``: the SFT backbone plus a linear head, Bradley–Terry on the preference pairs
  (rules/reward.smk); the reward is the head's output on the whole sequence.
- ``local``: reference-free DPO from the SFT checkpoint with β = 1/H (Table 4,
  rules/rm_study.smk); the reward is β·Σ_t log π(y_t | x, y_<t) over the completion.
- ``dpo``: the offline DPO policy's implicit reward β·(log π_dpo(y|x) − log π_sft(y|x)).

Every kind scores exactly the tokens ``prompt_ids + completion_ids`` (a sampled completion's
``completion_ids`` end with the EOS the policy drew; :meth:`RewardModel.score_text` tokenizes
human-written text as the trainers did, EOS appended). The rewards are on the scale each model
was trained on, so the Bradley–Terry log-likelihood of held-out labels
(:func:`bt_loglik`) compares them (Figure 9).

Log-probability kinds load their policies in fp32 whatever the config's ``precision``: their
reward is a sum (or a difference of sums) of ~H log-probs, and bf16 rounding of each would swamp
the margins between two completions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import torch
from tqdm.auto import tqdm

from . import models

Ids = Sequence[Sequence[int]]


def _unique_longest_first(prompt_ids: Ids, completion_ids: Ids):
    """The distinct (prompt, completion) token sequences, longest first (batches of similar
    length pad little), and each input's sequence. n samples of a prompt at a low temperature
    repeat each other: every distinct sequence is scored once."""
    seqs = [(tuple(p), tuple(c)) for p, c in zip(prompt_ids, completion_ids, strict=True)]
    unique = sorted(set(seqs), key=lambda q: (-len(q[0]) - len(q[1]), q))
    return seqs, unique


@torch.no_grad()
def sequence_logps(
    model, prompt_ids: Ids, completion_ids: Ids, pad_id: int, batch_size: int = 64
) -> list[float]:
    """log π(completion | prompt) summed over the completion tokens, at T = 1, in fp32 (no
    autocast), for every (prompt, completion) pair; distinct pairs are computed once."""
    from .logprobs import completion_logps

    device = next(model.parameters()).device
    seqs, unique = _unique_longest_first(prompt_ids, completion_ids)
    done: dict[tuple, float] = {}
    with torch.autocast(device.type, enabled=False):
        for i in range(0, len(unique), batch_size):
            chunk = unique[i : i + batch_size]
            width = max(len(p) + len(c) for p, c in chunk)
            ids = [list(p + c) + [pad_id] * (width - len(p) - len(c)) for p, c in chunk]
            att = [[1] * (len(p) + len(c)) + [0] * (width - len(p) - len(c)) for p, c in chunk]
            cm = [[0] * len(p) + [1] * len(c) + [0] * (width - len(p) - len(c)) for p, c in chunk]
            out = completion_logps(
                model,
                torch.tensor(ids, device=device),
                torch.tensor(att, device=device),
                torch.tensor(cm, device=device),
            )
            done.update(zip(chunk, out.float().cpu().tolist(), strict=True))
    return [done[q] for q in seqs]


def tokenize_completions(tok, prompts: list[str], completions: list[str]):
    """(prompt_ids, completion_ids) of human-written pairs as TRL's trainers see them: the text
    ``prompt + completion + EOS`` tokenized whole, the completion starting where it stops
    sharing a prefix with the tokenized prompt."""
    p_out, c_out = [], []
    for p, c in zip(prompts, completions, strict=True):
        p_ids = tok(p)["input_ids"]
        full = tok(p + c + tok.eos_token)["input_ids"]
        start = next(
            (k for k, (a, b) in enumerate(zip(p_ids, full, strict=False)) if a != b), len(p_ids)
        )
        p_out.append(full[:start])
        c_out.append(full[start:])
    return p_out, c_out


def text_logps(
    model_dir: str, prompts: list[str], *completion_sets: list[str], batch_size: int = 64
) -> list[list[float]]:
    """log π(completion + EOS | prompt), summed over the completion (see tokenize_completions),
    for each set of completions of ``prompts``; the model is loaded once for all of them."""
    tok = models.load_tokenizer(model_dir)
    model = models.load_policy(model_dir, "fp32", models.default_device()).eval()
    return [
        sequence_logps(model, *tokenize_completions(tok, prompts, c), tok.pad_token_id, batch_size)
        for c in completion_sets
    ]


def implicit_reward(
    policy_logps: Sequence[float], ref_logps: Sequence[float], beta: float = 1.0
) -> list[float]:
    """DPO's implicit reward β·(log π(y|x) − log π_ref(y|x)) per completion, from the policy's
    and the reference's summed log-probs (β = 1: the order alone, as the diagnostics use it)."""
    return [beta * (a - b) for a, b in zip(policy_logps, ref_logps, strict=True)]


class RewardModel:
    """A reward model: ``score`` maps token sequences to scalar rewards."""

    kind: ClassVar[str]

    def __init__(self, tokenizer_dir: str, batch_size: int = 64):
        self.tokenizer = models.load_tokenizer(tokenizer_dir)
        self.batch_size = batch_size
        self.device = models.default_device()

    def score(self, prompt_ids: Ids, completion_ids: Ids) -> list[float]:
        """One reward per (prompt, completion) token pair, nothing added to the tokens."""
        raise NotImplementedError

    def score_text(self, prompts: list[str], completions: list[str]) -> list[float]:
        """Rewards of human-written completions, tokenized as TRL's trainers see them
        (``prompt + completion + EOS``; see :func:`tokenize_completions`)."""
        return self.score(*tokenize_completions(self.tokenizer, prompts, completions))


class GlobalRM(RewardModel):
    """The SFT backbone plus a linear head (``AutoModelForSequenceClassification``)."""

    kind = "global"

    def __init__(self, rm_dir: str, precision: str = "fp32", batch_size: int = 256):
        super().__init__(rm_dir, batch_size)
        self.model = models.load_reward_model(rm_dir, precision, self.device).eval()
        self.model.config.pad_token_id = self.tokenizer.pad_token_id

    @torch.no_grad()
    def score(self, prompt_ids: Ids, completion_ids: Ids) -> list[float]:
        seqs, unique = _unique_longest_first(prompt_ids, completion_ids)
        done: dict[tuple, float] = {}
        for i in tqdm(range(0, len(unique), self.batch_size), desc="RM scoring", mininterval=2):
            chunk = unique[i : i + self.batch_size]
            # right padding; the RM pools the last non-pad token of each row
            enc = self.tokenizer.pad(
                {"input_ids": [list(p + c) for p, c in chunk]}, padding=True,
                padding_side="right", return_tensors="pt",
            ).to(self.device)  # fmt: skip
            out = self.model(**enc).logits[:, 0].float().cpu().tolist()
            done.update(zip(chunk, out, strict=True))
        return [done[q] for q in seqs]


class LocalRM(RewardModel):
    """A policy read as a reward: β·Σ log π(completion | prompt) (reference-free DPO, Eq. 9)."""

    kind = "local"

    def __init__(self, policy_dir: str, beta: float, batch_size: int = 64):
        super().__init__(policy_dir, batch_size)
        self.beta = float(beta)
        self.model = models.load_policy(policy_dir, "fp32", self.device).eval()

    def score(self, prompt_ids: Ids, completion_ids: Ids) -> list[float]:
        pad = self.tokenizer.pad_token_id
        lp = sequence_logps(self.model, prompt_ids, completion_ids, pad, self.batch_size)
        return [self.beta * x for x in lp]


class DPORM(RewardModel):
    """DPO's implicit reward β·(log π_dpo − log π_ref), π_ref = the SFT policy."""

    kind = "dpo"

    def __init__(self, policy_dir: str, ref_dir: str, beta: float, batch_size: int = 64):
        super().__init__(policy_dir, batch_size)
        self.beta = float(beta)
        self.model = models.load_policy(policy_dir, "fp32", self.device).eval()
        self.ref = models.load_policy(ref_dir, "fp32", self.device).eval()

    def score(self, prompt_ids: Ids, completion_ids: Ids) -> list[float]:
        pad = self.tokenizer.pad_token_id
        lp = sequence_logps(self.model, prompt_ids, completion_ids, pad, self.batch_size)
        lr = sequence_logps(self.ref, prompt_ids, completion_ids, pad, self.batch_size)
        return implicit_reward(lp, lr, self.beta)


KINDS: dict[str, type[RewardModel]] = {c.kind: c for c in (GlobalRM, LocalRM, DPORM)}


def load(kind: str, **kwargs) -> RewardModel:
    """The reward model of ``kind`` (a key of :data:`KINDS`), built from its class's arguments."""
    if kind not in KINDS:
        raise ValueError(f"unknown reward model kind {kind!r} (known: {', '.join(KINDS)})")
    return KINDS[kind](**kwargs)


def from_dirs(
    kind: str, dirs: Sequence[str], beta: float | None = None, **global_kw
) -> RewardModel:
    """The RM of ``kind`` from its checkpoint folder(s), in the rules' order (RM_DIRS in
    rules/common.smk): global ``[rm]``, local ``[policy]``, dpo ``[policy, sft]``. ``beta``
    scales the log-prob RMs; ``global_kw`` (``precision``, ``batch_size``) go to the global RM,
    the only one loaded in the run's precision (the log-prob RMs score in fp32)."""
    if kind == "global":
        return load(kind, rm_dir=dirs[0], **global_kw)
    if kind == "local":
        return load(kind, policy_dir=dirs[0], beta=beta)
    return load(kind, policy_dir=dirs[0], ref_dir=dirs[1], beta=beta)


# --------------------------------------------------------------------------- held-out fit


def log_sigmoid(x: float) -> float:
    return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))


def bt_loglik(chosen: Sequence[float], rejected: Sequence[float]) -> float:
    """Mean Bradley–Terry log-likelihood of the labels, log σ(r(chosen) − r(rejected))."""
    pairs = list(zip(chosen, rejected, strict=True))
    if not pairs:
        return float("nan")
    return sum(log_sigmoid(a - b) for a, b in pairs) / len(pairs)
