"""`precision: bf16` trains fp32 master weights under bf16 autocast, so a DPO step at Table 3's
learning rate (3e-7) moves the weights as an fp32 run does. With bf16-stored weights (what
the workflow did before) such a step is below a weight's rounding step and almost nothing moves.
Runs the real bf16 path on CPU: torch autocast supports bf16 there."""

import json

import pytest
import torch

from allroads import models, training
from allroads.config import stage_defaults

LR = 3e-7  # Table 3 (DPO)
HP = {**stage_defaults("dpo"), "epochs": 1, "batch_size": 4, "lr": LR, "beta": 0.05}


@pytest.fixture(scope="module")
def rows():
    names = ["bob", "zoe", "ivan", "ana"]
    return [
        {"prompt": f"SUBREDDIT: r/toy\n\nTITLE: about {n}\n\nPOST: {n} likes cats .\n\nTL;DR:",
         "chosen": f" {n} likes cats", "rejected": " cats cats"}
        for n in names * 4
    ]  # fmt: skip


def fraction_moved(tiny_model_dir, rows, tmp_path, precision):
    trainer, _ = training.make_dpo_trainer(
        tiny_model_dir, rows, HP, 0, precision, str(tmp_path), ref_dir=tiny_model_dir,
        ref_temperature=0.1, policy_temperature=0.1,
    )  # fmt: skip
    before = {k: p.detach().clone() for k, p in trainer.model.named_parameters()}
    metrics = training._finish(trainer, models.load_tokenizer(tiny_model_dir), str(tmp_path))
    moved = sum((p.detach() != before[k]).sum().item() for k, p in trainer.model.named_parameters())
    return moved / sum(p.numel() for p in before.values()), trainer, metrics


def test_bf16_moves_weights_like_fp32(tiny_model_dir, rows, tmp_path):
    f32, _, _ = fraction_moved(tiny_model_dir, rows, tmp_path / "fp32", "fp32")
    bf16, trainer, metrics = fraction_moved(tiny_model_dir, rows, tmp_path / "bf16", "bf16")
    assert trainer.args.bf16  # the compute did run under bf16 autocast
    assert metrics["bf16_autocast"] and metrics["master_weights"] == "torch.float32"
    assert metrics["global_step"] == len(rows) // HP["batch_size"]
    assert f32 > 0.5  # the tiny model: every weight on a gradient path moves in fp32
    assert bf16 == pytest.approx(f32, rel=0.02), (bf16, f32)
    # the saved checkpoint is the fp32 master weights
    cfg = json.loads((tmp_path / "bf16" / "config.json").read_text())
    assert cfg.get("dtype", cfg.get("torch_dtype")) == "float32"


def test_bf16_stored_weights_would_not_move(tiny_model_dir, rows, tmp_path, monkeypatch):
    """The control that makes the test above meaningful: the old loader (bf16 weights) under
    the same run moves a small fraction of the weights."""
    monkeypatch.setattr(
        models, "load_trainable_policy", lambda path: models.load_policy(path, "bf16")
    )
    old, trainer, _ = fraction_moved(tiny_model_dir, rows, tmp_path, "bf16")
    assert next(trainer.model.parameters()).dtype == torch.bfloat16
    assert old < 0.2, old
