"""What the SFT loss covers: the labels TRL's SFTTrainer gets (train.sft.completion_only_loss)."""

from __future__ import annotations

import pytest

from allroads import models, training
from allroads.config import stage_defaults

ROWS = [
    {"prompt": "POST: the cat sat on the mat TL;DR:", "reference": " cat sat"},
    {"prompt": "POST: a dog ran far away from home today TL;DR:", "reference": " dog ran away"},
]


@pytest.mark.parametrize("completion_only", [True, False])
def test_sft_labels_cover_the_prompt_only_when_asked(tiny_model_dir, tmp_path, completion_only):
    hp = {**stage_defaults("sft"), "epochs": 1, "batch_size": 2, "lr": 1e-3}
    hp["completion_only_loss"] = completion_only
    tok = models.load_tokenizer(tiny_model_dir)
    trainer = training.sft_trainer(
        models.load_trainable_policy(tiny_model_dir), tok, ROWS, hp, 0, "fp32", str(tmp_path)
    )
    examples = [trainer.train_dataset[i] for i in range(len(ROWS))]
    batch = trainer.data_collator(examples)
    for i, row in enumerate(ROWS):
        ids = batch["input_ids"][i][batch["attention_mask"][i].bool()].tolist()
        labels = batch["labels"][i][batch["attention_mask"][i].bool()].tolist()
        n_prompt = len(tok(row["prompt"])["input_ids"])
        assert 0 < n_prompt < len(ids)
        # the completion's tokens are always learned
        assert labels[n_prompt:] == ids[n_prompt:]
        if completion_only:
            assert labels[:n_prompt] == [-100] * n_prompt
        else:  # the authors' SFT: every token, prompt included (padding masked)
            assert labels[:n_prompt] == ids[:n_prompt]
        # padding is never a label
        pad = ~batch["attention_mask"][i].bool()
        assert (batch["labels"][i][pad] == -100).all()


def test_weight_decay_reaches_adamw(tiny_model_dir, tmp_path):
    """train.<stage>.weight_decay (the authors' AdamW default, 0.01) is what the optimizer
    decays by (the Trainer exempts biases and LayerNorm weights); 0 decays nothing."""
    tok = models.load_tokenizer(tiny_model_dir)
    for wd in (0.01, 0.0):
        hp = {**stage_defaults("sft"), "epochs": 1, "batch_size": 2, "lr": 1e-3, "weight_decay": wd}
        trainer = training.sft_trainer(
            models.load_trainable_policy(tiny_model_dir), tok, ROWS, hp, 0, "fp32", str(tmp_path)
        )
        opt = trainer.create_optimizer()
        decays = {g["weight_decay"] for g in opt.param_groups if g["params"]}
        assert type(opt).__name__ == "AdamW"
        assert decays == ({wd, 0.0} if wd else {0.0})
