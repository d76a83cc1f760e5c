"""Training: base pretraining, SFT, the global RM and (offline / online / reference-free) DPO.

All of it goes through TRL's trainers (SFTTrainer, RewardTrainer, DPOTrainer). The one piece
written here is :class:`PrecomputedRefDPOTrainer`: TRL computes reference log-probs untempered
and from a model it loads itself, while the paper needs (a) the generator's logits scaled by
1/T for online DPO and (b) no reference at all for the local RM. The subclass fills the
``ref_chosen_logps`` / ``ref_rejected_logps`` columns that TRL's collator and loss already accept.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from transformers import set_seed

from . import models
from .logprobs import batched_completion_logps

log = logging.getLogger(__name__)


def _on_gpu() -> bool:
    return torch.cuda.is_available()


def trainer_kwargs(hp: dict[str, Any], out_dir: str, seed: int, precision: str) -> dict[str, Any]:
    """TrainingArguments shared by every stage. One place, so all DPO runs share them.

    On CPU, TRL's defaults (bf16, gradient checkpointing) make a tiny model's step ~2-18x
    slower; they are turned off unless the config asks for bf16 on a GPU.
    """
    bf16 = precision == "bf16" and _on_gpu()
    kw = dict(
        output_dir=out_dir,
        num_train_epochs=hp["epochs"],
        per_device_train_batch_size=hp["batch_size"] // hp.get("grad_accum", 1),
        gradient_accumulation_steps=hp.get("grad_accum", 1),
        learning_rate=hp["lr"],
        adam_epsilon=hp.get("adam_eps", 1e-8),
        weight_decay=hp.get("weight_decay", 0.0),
        lr_scheduler_type=hp.get("schedule", "linear"),
        warmup_steps=hp.get("warmup_steps", 0),
        max_grad_norm=hp.get("max_grad_norm", 1.0),
        seed=seed,
        data_seed=seed,
        bf16=bf16,
        fp16=False,
        gradient_checkpointing=bool(hp.get("gradient_checkpointing", False)),
        use_cpu=not _on_gpu(),
        report_to=[],
        save_strategy="no",
        logging_steps=max(1, hp.get("logging_steps", 10)),
        disable_tqdm=False,
        dataloader_num_workers=0,
        remove_unused_columns=True,
    )
    if hp.get("deepspeed"):
        kw["deepspeed"] = hp["deepspeed"]
    return kw


def _finish(trainer, tokenizer, out_dir: str) -> dict[str, Any]:
    result = trainer.train()
    trainer.save_model(out_dir)
    tokenizer.save_pretrained(out_dir)
    metrics = dict(result.metrics)
    metrics["log_history"] = trainer.state.log_history
    return metrics


# --------------------------------------------------------------------------- base / SFT


def pretrain_base(model, tokenizer, rows: list[dict], hp: dict, seed: int, out_dir: str) -> dict:
    """Pretrain a tiny model on the toy pretraining corpus (the toy stand-in for Pythia's pile).

    The corpus is posts with noisy TL;DRs, disjoint from every split; the loss is on the TL;DR
    so that a 2-layer model learns to copy from its context within a CPU-minute budget.
    """
    return sft_on_references(model, tokenizer, rows, hp, seed, "fp32", out_dir)


def train_sft(init_dir: str, rows: list[dict], hp: dict, seed: int, precision: str, out_dir: str):
    """SFT on (prompt, reference) pairs; loss on the completion only."""
    tokenizer = models.load_tokenizer(init_dir)
    model = models.load_policy(init_dir, precision)
    return sft_on_references(model, tokenizer, rows, hp, seed, precision, out_dir)


def sft_on_references(model, tokenizer, rows, hp, seed, precision, out_dir) -> dict:
    """TRL SFTTrainer on ``prompt`` -> ``reference`` rows, loss on the completion only."""
    from trl import SFTConfig, SFTTrainer

    data = Dataset.from_dict(
        {"prompt": [r["prompt"] for r in rows], "completion": [r["reference"] for r in rows]}
    )
    args = SFTConfig(
        **trainer_kwargs(hp, out_dir, seed, precision),
        max_length=hp.get("max_length", 1024),
        completion_only_loss=hp.get("completion_only_loss", True),
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer)
    return _finish(trainer, tokenizer, out_dir)


# --------------------------------------------------------------------------- global RM


def preference_dataset(rows: list[dict], extra: dict[str, list] | None = None) -> Dataset:
    cols = {k: [r[k] for r in rows] for k in ("prompt", "chosen", "rejected")}
    cols.update(extra or {})
    return Dataset.from_dict(cols)


def train_global_rm(
    init_dir: str, rows: list[dict], hp: dict, seed: int, precision: str, out_dir: str
):
    """Global RM: the SFT backbone plus one linear head, Bradley–Terry loss (TRL RewardTrainer)."""
    from trl import RewardConfig, RewardTrainer

    tokenizer = models.load_tokenizer(init_dir)
    set_seed(seed)  # the linear head is freshly initialized here, before the Trainer seeds
    model = models.load_reward_model(init_dir, precision)
    model.config.pad_token_id = tokenizer.pad_token_id
    args = RewardConfig(
        **trainer_kwargs(hp, out_dir, seed, precision),
        max_length=hp.get("max_length", 1024),
        center_rewards_coefficient=None,
    )
    trainer = RewardTrainer(
        model=model, args=args, train_dataset=preference_dataset(rows), processing_class=tokenizer
    )
    return _finish(trainer, tokenizer, out_dir)


# --------------------------------------------------------------------------- DPO


def _dpo_trainer_class():
    from trl import DPOTrainer

    class PrecomputedRefDPOTrainer(DPOTrainer):
        """DPOTrainer whose reference log-probs come from us (see the module docstring).

        ``ref_source``: a causal LM to score with logits / ``ref_temperature``, or None for the
        reference-free loss (all reference log-probs 0). No reference model is loaded by TRL.
        """

        def __init__(self, *args, ref_source=None, ref_temperature: float = 1.0, **kwargs):
            self._ref_source = ref_source
            self._ref_temperature = ref_temperature
            super().__init__(*args, **kwargs)

        def _precompute_ref_logps(self, dataset, name, batch_size):
            for col in ("ref_chosen_logps", "ref_rejected_logps"):
                if col in dataset.column_names:
                    dataset = dataset.remove_columns(col)
            n = len(dataset)
            if self._ref_source is None:
                chosen = rejected = torch.zeros(n)
            else:
                loader = torch.utils.data.DataLoader(
                    dataset, batch_size=batch_size, collate_fn=self.data_collator, shuffle=False
                )
                device = next(self._ref_source.parameters()).device
                logps = [
                    batched_completion_logps(
                        self._ref_source, [b], self._ref_temperature, desc=name, device=device
                    )
                    for b in loader
                ]
                # the collator stacks [chosen..., rejected...] within each batch
                chosen = torch.cat([lp[: len(lp) // 2] for lp in logps])
                rejected = torch.cat([lp[len(lp) // 2 :] for lp in logps])
            dataset = dataset.add_column("ref_chosen_logps", chosen.tolist())
            return dataset.add_column("ref_rejected_logps", rejected.tolist())

    return PrecomputedRefDPOTrainer


def make_dpo_trainer(
    init_dir: str,
    rows: list[dict],
    hp: dict,
    seed: int,
    precision: str,
    out_dir: str,
    ref_dir: str | None,
    ref_temperature: float = 1.0,
    beta: float | None = None,
):
    """Build (not run) the DPO trainer: offline (ref = SFT, T=1), online (ref = generator, T),
    or reference-free (``ref_dir=None``: the local RM)."""
    from trl import DPOConfig

    tokenizer = models.load_tokenizer(init_dir)
    model = models.load_policy(init_dir, precision)
    ref = None
    if ref_dir is not None:
        ref = models.load_policy(ref_dir, precision)
        if _on_gpu():
            ref.to("cuda")
        ref.eval()
    args = DPOConfig(
        **trainer_kwargs(hp, out_dir, seed, precision),
        beta=hp["beta"] if beta is None else beta,
        max_length=hp.get("max_length", 1024),
        precompute_ref_log_probs=True,
        precompute_ref_batch_size=hp.get("ref_batch_size", hp["batch_size"]),
    )
    cls = _dpo_trainer_class()
    trainer = cls(
        model=model,
        args=args,
        train_dataset=preference_dataset(rows),
        processing_class=tokenizer,
        ref_source=ref,
        ref_temperature=ref_temperature,
    )
    return trainer, tokenizer


def train_dpo(*args, **kwargs) -> dict:
    out_dir = kwargs.get("out_dir") or args[5]
    trainer, tokenizer = make_dpo_trainer(*args, **kwargs)
    return _finish(trainer, tokenizer, out_dir)


def set_threads(n: int) -> None:
    """Pin intra-op threads to the job's Snakemake ``threads`` (2 parallel jobs on 2 cores)."""
    torch.set_num_threads(max(1, n))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def ensure_dir(p: str) -> Path:
    Path(p).mkdir(parents=True, exist_ok=True)
    return Path(p)
