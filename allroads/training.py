"""Training: base pretraining, SFT, the global RM and (offline / online / reference-free) DPO.

All of it goes through TRL's trainers (SFTTrainer, RewardTrainer, DPOTrainer). The one piece
written here is :class:`PrecomputedRefDPOTrainer`: TRL computes reference log-probs untempered
and from a model it loads itself, while the paper needs (a) the generator's logits scaled by
1/T for online DPO and (b) no reference at all for the local RM. The subclass fills the
``ref_chosen_logps`` / ``ref_rejected_logps`` columns that TRL's collator and loss already accept,
and, for online DPO as the authors ran it, scores the trained policy with logits / T too.

Precision: trainable weights are always fp32 (``models.MASTER_DTYPE``); ``precision: bf16`` is
the Trainer's bf16 autocast (DeepSpeed's bf16 mode under ``accelerate launch``), on any device.
Reference log-probs are computed in fp32 without autocast (their 1/T = 10 amplifies rounding).

Every rule runs :func:`main` (``python -m allroads.training '<spec>'``), in one process or in
N under ``accelerate launch`` (see allroads.launch); the batch layout is set so that
per-device batch x accumulation x processes = the config's (global) ``batch_size``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

import torch
from datasets import Dataset
from transformers import set_seed

from . import models, warm
from .config import ConfigError
from .io import atomic_dir, read_jsonl, write_json
from .jobs import exit_now, nothing_left_running
from .logprobs import batched_completion_logps

log = logging.getLogger(__name__)


def _on_gpu() -> bool:
    return torch.cuda.is_available()


def world_size() -> int:
    """Processes of this training job (set by `accelerate launch` / torchrun; 1 otherwise)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def batch_layout(hp: dict[str, Any], nprocs: int, key: str = "train") -> tuple[int, int]:
    """(per-device batch, gradient accumulation) such that per-device x accumulation x
    ``nprocs`` = ``hp["batch_size"]`` (the global batch of Tables 2-3) and the per-device batch
    is at most ``hp["micro_batch_size"]`` (what one GPU holds; default: the whole batch)."""
    batch, micro = hp["batch_size"], hp.get("micro_batch_size", hp["batch_size"])
    if batch % nprocs:
        raise ConfigError(
            f"key {key}.batch_size: {batch} is not divisible by the job's {nprocs} processes (GPUs)"
        )
    local = batch // nprocs
    accum = next(g for g in range(1, local + 1) if local % g == 0 and local // g <= micro)
    return local // accum, accum


def trainer_kwargs(
    hp: dict[str, Any], out_dir: str, seed: int, precision: str, key: str = "train"
) -> dict[str, Any]:
    """TrainingArguments shared by every stage. One place, so all DPO runs share them.

    ``precision: bf16`` is bf16 autocast over fp32 weights, on a GPU and on CPU alike (the
    toy config uses fp32: on CPU bf16 is slower). Gradient checkpointing is off unless asked.
    """
    per_device, accum = batch_layout(hp, world_size(), key)
    kw = dict(
        output_dir=out_dir,
        num_train_epochs=hp["epochs"],
        per_device_train_batch_size=per_device,
        gradient_accumulation_steps=accum,
        learning_rate=hp["lr"],
        adam_epsilon=hp["adam_eps"],
        weight_decay=hp["weight_decay"],
        lr_scheduler_type=hp["schedule"],
        warmup_steps=hp["warmup_steps"],
        max_grad_norm=hp["max_grad_norm"],
        seed=seed,
        data_seed=seed,
        bf16=precision == "bf16",
        fp16=False,
        # config key `gradient_checkpointing` (transformers 5's deprecated alias of this; TRL
        # defaults it to on): off unless the config asks
        activation_checkpointing=bool(hp["gradient_checkpointing"]),
        use_cpu=not _on_gpu(),
        report_to=[],
        save_strategy="no",
        logging_steps=hp["logging_steps"],
        disable_tqdm=False,
        dataloader_num_workers=0,
        remove_unused_columns=True,
    )
    # No `deepspeed=` here: under `accelerate launch --config_file deepspeed_zero3.yaml` the
    # Trainer takes DeepSpeed from the launcher's environment and fills the "auto" entries of
    # config/accelerate/ds_zero3.json (batch, accumulation, lr, eps, bf16) from these arguments.
    return kw


def _finish(trainer, tokenizer, out_dir: str) -> dict[str, Any]:
    if trainer.args.n_gpu > 1:  # the HF Trainer would fall back to DataParallel
        raise RuntimeError(
            f"one training process sees {trainer.args.n_gpu} GPUs: DataParallel would multiply "
            "the batch. Give the job that many GPUs (resources gpu: one process per GPU through "
            "accelerate launch) or restrict CUDA_VISIBLE_DEVICES to one."
        )
    result = trainer.train()
    trainer.save_model(out_dir)  # every process takes part (ZeRO-3 gathers); the main one writes
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(out_dir)
    args = trainer.args
    metrics = dict(result.metrics)
    metrics.update(
        global_step=trainer.state.global_step,
        num_processes=args.world_size,
        per_device_batch=args.per_device_train_batch_size,
        grad_accum=args.gradient_accumulation_steps,
        global_batch=args.per_device_train_batch_size
        * args.gradient_accumulation_steps
        * args.world_size,
        bf16_autocast=bool(args.bf16),
        # DeepSpeed bf16 casts the module and keeps the fp32 masters in its optimizer
        master_weights="fp32 (DeepSpeed bf16 optimizer)"
        if trainer.is_deepspeed_enabled
        else str(next(trainer.model.parameters()).dtype),
        log_history=trainer.state.log_history,
    )
    return metrics


# --------------------------------------------------------------------------- base / SFT


def pretrain_base(model, tokenizer, rows: list[dict], hp: dict, seed: int, out_dir: str) -> dict:
    """Pretrain a tiny model on the toy pretraining corpus (the toy stand-in for Pythia's pile).

    The corpus is posts with noisy TL;DRs, disjoint from every split; the loss is on the TL;DR
    so that a 2-layer model learns to copy from its context within a CPU-minute budget.
    """
    hp = dict(hp, completion_only_loss=True)  # the base stage has no such key: TL;DR only
    return sft_on_references(model, tokenizer, rows, hp, seed, "fp32", out_dir, key="base")


def train_sft(init_dir: str, rows: list[dict], hp: dict, seed: int, precision: str, out_dir: str):
    """SFT on (prompt, reference) pairs; the loss on the completion only, or on prompt and
    completion (``completion_only_loss: false``, as the authors' sft.py)."""
    tokenizer = models.load_tokenizer(init_dir)
    model = models.load_trainable_policy(init_dir)
    return sft_on_references(model, tokenizer, rows, hp, seed, precision, out_dir)


def sft_trainer(model, tokenizer, rows, hp, seed, precision, out_dir, key="train.sft"):
    """TRL SFTTrainer on ``prompt`` -> ``reference`` rows (not run). ``hp["completion_only_loss"]``
    true: the labels are the completion's tokens only; false: every token of prompt and
    completion (padding masked), as the authors' SFT (REBEL src/tldr/sft.py:390)."""
    from trl import SFTConfig, SFTTrainer

    data = Dataset.from_dict(
        {"prompt": [r["prompt"] for r in rows], "completion": [r["reference"] for r in rows]}
    )
    args = SFTConfig(
        **trainer_kwargs(hp, out_dir, seed, precision, key),
        max_length=hp["max_length"],
        completion_only_loss=hp["completion_only_loss"],
    )
    return SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer)


def sft_on_references(model, tokenizer, rows, hp, seed, precision, out_dir, key="train.sft"):
    trainer = sft_trainer(model, tokenizer, rows, hp, seed, precision, out_dir, key)
    return _finish(trainer, tokenizer, out_dir)


# --------------------------------------------------------------------------- global RM


TOKEN_COLUMNS = ("prompt_ids", "chosen_ids", "rejected_ids")


def preference_dataset(rows: list[dict], extra: dict[str, list] | None = None) -> Dataset:
    """Preference rows as a dataset: token ids when the rows carry them, else text.

    Online pairs carry ``prompt_ids / chosen_ids / rejected_ids``, the tokens the generator was
    conditioned on and drew (EOS only where it drew one): those columns go to the trainer as
    they are, untokenized and with no EOS added (see PrecomputedRefDPOTrainer._prepare_dataset).
    Human text (SFT data, offline pairs) goes as ``prompt / chosen / rejected`` for TRL to
    tokenize, EOS appended.
    """
    has_ids = [all(k in r for k in TOKEN_COLUMNS) for r in rows]
    if any(has_ids) and not all(has_ids):
        i = has_ids.index(False)
        raise ValueError(f"preference row {i + 1} ({rows[i].get('id')}) lacks {TOKEN_COLUMNS}")
    keys = TOKEN_COLUMNS if rows and all(has_ids) else ("prompt", "chosen", "rejected")
    cols = {k: [r[k] for r in rows] for k in keys}
    cols.update(extra or {})
    return Dataset.from_dict(cols)


def train_global_rm(
    init_dir: str, rows: list[dict], hp: dict, seed: int, precision: str, out_dir: str
):
    """Global RM: the SFT backbone plus one linear head, Bradley–Terry loss (TRL RewardTrainer)."""
    from trl import RewardConfig, RewardTrainer

    tokenizer = models.load_tokenizer(init_dir)
    set_seed(seed)  # the linear head is freshly initialized here, before the Trainer seeds
    model = models.load_trainable_reward_model(init_dir)
    model.config.pad_token_id = tokenizer.pad_token_id
    args = RewardConfig(
        **trainer_kwargs(hp, out_dir, seed, precision, "train.global_rm"),
        max_length=hp["max_length"],
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
        ``policy_temperature``: the trained policy's log-probs in the loss are those of
        logits / T (online DPO as the authors ran it, REBEL src/tldr/dpo_fix.py); 1 = TRL's.
        """

        def __init__(
            self,
            *args,
            ref_source=None,
            ref_temperature: float = 1.0,
            policy_temperature: float = 1.0,
            **kwargs,
        ):
            self._ref_source = ref_source
            self._ref_temperature = ref_temperature
            self.policy_temperature = policy_temperature
            self._has_ref = ref_source is not None
            super().__init__(*args, **kwargs)
            # precomputed: drop the reference, its memory is the training's (6.9B: 28 GB per GPU)
            self._ref_source = None
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            if policy_temperature != 1.0:
                self._temper_policy(policy_temperature)

        def _temper_policy(self, temperature: float) -> None:
            """TRL 1.16 scores the policy through its fused LM head, which DPOTrainer.__init__
            adds at T=1; `add_fused_lm_head` takes a temperature, so patch it again at T (its
            fused path replaces the earlier one). Same per-token outputs as DPOTrainer asks
            for; the head runs in fp32, since 1/T amplifies bf16 rounding of the logits."""
            from trl.trainer.utils import add_fused_lm_head

            outputs = ("log_probs", "entropy", "mean_logits", "is_top1")
            if self.use_weighting:
                outputs += ("log_sum_sq_probs",)
            add_fused_lm_head(
                self.model, temperature=temperature, cast_lm_head_to_fp32=True, outputs=outputs
            )

        def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
            # TRL 1.16 re-tokenizes text and appends EOS; rows already given as token ids
            # (online pairs: the sampled tokens) pass through untouched, as TRL's own
            # RewardTrainer does for pre-tokenized data. Same length filter as TRL.
            if all(c in dataset.column_names for c in TOKEN_COLUMNS):
                if args.max_length is not None and args.truncation_mode == "keep_start":
                    dataset = dataset.filter(lambda ex: len(ex["prompt_ids"]) < args.max_length)
                return dataset
            return super()._prepare_dataset(dataset, processing_class, args, dataset_name)

        def _precompute_ref_logps(self, dataset, name, batch_size):
            for col in ("ref_chosen_logps", "ref_rejected_logps"):
                if col in dataset.column_names:
                    dataset = dataset.remove_columns(col)
            n = len(dataset)
            if self._has_ref and self._ref_source is None:
                raise RuntimeError("reference log-probs are computed once, at construction")
            if self._ref_source is None:
                chosen = rejected = torch.zeros(n)
            else:
                # As TRL's own precompute: the batches are sharded over the processes and
                # gathered back in order. Each process scores with its own fp32 copy of the
                # reference (not a DeepSpeed engine, which would cast it to bf16).
                loader = self.accelerator.prepare(
                    torch.utils.data.DataLoader(
                        dataset, batch_size=batch_size, collate_fn=self.data_collator
                    )
                )
                device = self.accelerator.device
                self._ref_source.to(device)
                chosen, rejected = [], []
                for b in loader:
                    lp = batched_completion_logps(
                        self._ref_source, [b], self._ref_temperature, desc=name, device=device
                    ).to(device)
                    # the collator stacks [chosen..., rejected...] within each batch
                    c, r = self.accelerator.gather_for_metrics(
                        (lp[: len(lp) // 2], lp[len(lp) // 2 :])
                    )
                    chosen.append(c.cpu())
                    rejected.append(r.cpu())
                chosen, rejected = torch.cat(chosen), torch.cat(rejected)
                assert len(chosen) == n, (len(chosen), n)
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
    policy_temperature: float = 1.0,
):
    """Build (not run) the DPO trainer: offline (ref = SFT, T=1), online (ref = generator at T;
    the policy at T too when ``policy_temperature`` = T, as the authors ran it), or
    reference-free (``ref_dir=None``: the local RM)."""
    from trl import DPOConfig

    tokenizer = models.load_tokenizer(init_dir)
    # Both models are loaded before DPOConfig exists: under ZeRO-3, TrainingArguments switches
    # on DeepSpeed's partitioned loading, and the reference must stay a whole fp32 model. The
    # reference goes to this process's GPU first, so the host never holds both (6.9B x 8 ranks).
    ref = None
    if ref_dir is not None:
        ref = models.load_trainable_policy(ref_dir).eval()
        if _on_gpu():
            ref.to(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}")
    model = models.load_trainable_policy(init_dir)
    kw = trainer_kwargs(hp, out_dir, seed, precision, "train.dpo")
    args = DPOConfig(
        **kw,
        beta=hp["beta"] if beta is None else beta,
        max_length=hp["max_length"],
        precompute_ref_log_probs=True,
        precompute_ref_batch_size=hp.get("ref_batch_size", kw["per_device_train_batch_size"]),
    )
    cls = _dpo_trainer_class()
    trainer = cls(
        model=model,
        args=args,
        train_dataset=preference_dataset(rows),
        processing_class=tokenizer,
        ref_source=ref,
        ref_temperature=ref_temperature,
        policy_temperature=policy_temperature,
    )
    return trainer, tokenizer


def train_dpo(*args, **kwargs) -> dict:
    out_dir = kwargs.get("out_dir") or args[5]
    trainer, tokenizer = make_dpo_trainer(*args, **kwargs)
    return _finish(trainer, tokenizer, out_dir)


# --------------------------------------------------------------------------- entry point

REQUIRED = {
    "sft": ("prompt", "reference"),
    "global_rm": ("prompt", "chosen", "rejected"),
    "dpo": (),
}


def run(spec: dict[str, Any], out_dir: str) -> dict[str, Any]:
    """Train one stage (``spec["stage"]``) into ``out_dir``; every launched process runs it."""
    if world_size() != spec["nprocs"]:
        raise RuntimeError(f"{world_size()} processes started; the job asked for {spec['nprocs']}")
    # the job's Snakemake `threads`, from the shell (kept out of the spec: a different --cores
    # must not count as a changed job)
    torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS") or spec.get("threads", 1))))
    stage = spec["stage"]
    if stage not in REQUIRED:
        raise ValueError(f"spec key stage: {stage!r} is not one of {sorted(REQUIRED)}")
    rows = read_jsonl(spec["train"], required=REQUIRED[stage])
    args = (spec["init"], rows, spec["hp"], int(spec["seed"]), spec["precision"], out_dir)
    log.info("%s from %s: %d rows, %d process(es)%s", stage, spec["init"], len(rows), world_size(),
             warm.note())  # fmt: skip
    if stage == "sft":
        return train_sft(*args)
    if stage == "global_rm":
        return train_global_rm(*args)
    log.info(
        "DPO reference %s at T=%s, policy log-probs at T=%s",
        spec.get("ref"), spec.get("ref_temperature", 1.0), spec.get("policy_temperature", 1.0),
    )  # fmt: skip
    return train_dpo(
        *args,
        ref_dir=spec.get("ref"),
        ref_temperature=spec.get("ref_temperature", 1.0),
        policy_temperature=spec.get("policy_temperature", 1.0),
    )


def main(argv: list[str] | None = None) -> None:
    """``python -m allroads.training '<spec JSON>'``, directly or under ``accelerate launch``.

    The main process owns the atomic output directory (allroads.io.atomic_dir) and tells the
    others its temporary path; the checkpoint and ``train_metrics.json`` appear only when
    every process has finished.
    """
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.exit("usage: python -m allroads.training '<spec JSON>' (see allroads.launch)")
    spec = json.loads(argv[0])
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    logging.basicConfig(
        level=logging.INFO if is_main_process() else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stdout,
        force=True,
    )
    t0, box = time.time(), [None]
    if world_size() > 1:
        from accelerate import PartialState
        from accelerate.utils import broadcast_object_list

        PartialState()  # joins the process group the launcher set up
    else:

        def broadcast_object_list(objs):
            return objs

    if is_main_process():
        with atomic_dir(spec["out"]) as tmp:
            box[0] = str(tmp)
            broadcast_object_list(box)
            metrics = run(spec, str(tmp))
            write_json(tmp / "train_metrics.json", metrics)
        log.info(
            "train loss %s, %s optimizer steps; %s done in %.1f s",
            metrics.get("train_loss"), metrics["global_step"], spec["stage"], time.time() - t0,
        )  # fmt: skip
    else:
        broadcast_object_list(box)
        run(spec, box[0])


if __name__ == "__main__":
    main()
    if world_size() == 1 and nothing_left_running():  # skip the teardown (~0.9 s, allroads.jobs)
        exit_now(0)
