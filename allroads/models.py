"""Models: word-level tokenizers of the toy tasks, tiny GPT-NeoX (Pythia architecture) configs, and loading.

At paper scale the same functions load Pythia checkpoints; only the ``base`` step differs
(:func:`materialize_base` snapshots a hub model instead of pretraining a tiny one).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    GPTNeoXConfig,
    GPTNeoXForCausalLM,
    PreTrainedTokenizerFast,
)


def word_tokenizer(vocab: list[str], *, eos: str, pad: str, unk: str) -> PreTrainedTokenizerFast:
    """A word-level tokenizer over ``vocab`` (a toy task's words, special tokens included),
    saved like any Hugging Face tokenizer; EOS doubles as BOS, as in Pythia.

    Written by hand because the toy tasks are word-level by design: BPE would only blur them.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel(vocab={w: i for i, w in enumerate(vocab)}, unk_token=unk))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # joins words with spaces
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token=eos, pad_token=pad, unk_token=unk, bos_token=eos
    )
    fast.padding_side = "left"
    return fast


def tiny_neox_config(
    arch: dict[str, Any], vocab_size: int, pad_id: int, eos_id: int
) -> GPTNeoXConfig:
    """A GPT-NeoX config (the Pythia architecture) of the given tiny size."""
    return GPTNeoXConfig(
        vocab_size=vocab_size,
        hidden_size=arch["hidden_size"],
        num_hidden_layers=arch["num_layers"],
        num_attention_heads=arch["num_heads"],
        intermediate_size=4 * arch["hidden_size"],
        max_position_embeddings=arch.get("max_positions", 256),
        rotary_pct=arch.get("rotary_pct", 1.0),
        use_parallel_residual=True,
        tie_word_embeddings=False,
        pad_token_id=pad_id,
        eos_token_id=eos_id,
        bos_token_id=eos_id,
    )


def init_tiny_model(arch: dict[str, Any], tokenizer, seed: int) -> GPTNeoXForCausalLM:
    torch.manual_seed(seed)
    cfg = tiny_neox_config(arch, len(tokenizer), tokenizer.pad_token_id, tokenizer.eos_token_id)
    return GPTNeoXForCausalLM(cfg)


def load_tokenizer(path: str | os.PathLike):
    tok = AutoTokenizer.from_pretrained(str(path))
    if tok.pad_token is None:  # Pythia has no pad token: use a dedicated one, never EOS
        tok.add_special_tokens({"pad_token": "<|padding|>"})
    return tok


def torch_dtype(precision: str) -> torch.dtype:
    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


# Inference (sampling, RM scoring) loads weights in the config's `precision`. Training never does:
# an AdamW step at the paper's learning rates (3e-7 for DPO, Table 3) is far below the rounding
# step of a bf16 weight, so bf16-stored weights barely move. Trainable models are loaded in fp32
# (the master weights) and `precision: bf16` becomes bf16 autocast for the compute (the HF
# Trainer's `bf16=True`, or DeepSpeed's bf16 mode, which also keeps fp32 masters).
MASTER_DTYPE = torch.float32


def load_policy(path: str | os.PathLike, precision: str = "fp32", device: str | None = None):
    """A causal LM for inference, weights in ``precision``."""
    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch_dtype(precision))
    if device:
        model.to(device)
    return model


def load_reward_model(path: str | os.PathLike, precision: str = "fp32", device: str | None = None):
    """A global RM for inference: the backbone plus one linear head (``score``), num_labels=1."""
    model = AutoModelForSequenceClassification.from_pretrained(
        str(path), num_labels=1, dtype=torch_dtype(precision)
    )
    if device:
        model.to(device)
    return model


def load_trainable_policy(path: str | os.PathLike):
    """A causal LM to train (or to score a reference with): fp32 master weights, whatever
    the config's ``precision`` (see MASTER_DTYPE)."""
    return AutoModelForCausalLM.from_pretrained(str(path), dtype=MASTER_DTYPE)


def load_trainable_reward_model(path: str | os.PathLike):
    """A global RM to train: fp32 master weights (see MASTER_DTYPE), one linear head."""
    return AutoModelForSequenceClassification.from_pretrained(
        str(path), num_labels=1, dtype=MASTER_DTYPE
    )


def save(model, tokenizer, out_dir: str | os.PathLike) -> None:
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"
