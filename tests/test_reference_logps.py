"""Temperature scaling of reference log-probs, computed in fp32, as the DPO trainer's columns.
(The loss built from them is checked by hand in test_losses.py.)"""

import pytest
import torch
from dpo_rows import ROWS, logp_by_hand

from allroads import models, training
from allroads.config import stage_defaults
from allroads.logprobs import completion_logps

HP = {**stage_defaults("dpo"), "epochs": 1, "batch_size": 2, "lr": 1e-3, "beta": 0.1}


def test_completion_logps_scales_logits(tiny_model_dir):
    model = models.load_policy(tiny_model_dir).eval()
    tok = models.load_tokenizer(tiny_model_dir)
    p, c = tok(ROWS[0]["prompt"])["input_ids"], tok(ROWS[0]["chosen"] + tok.eos_token)["input_ids"]
    ids = torch.tensor([p + c])
    mask = torch.tensor([[0] * len(p) + [1] * len(c)])
    with torch.no_grad():
        for T in (1.0, 0.1):
            got = completion_logps(model, ids, torch.ones_like(ids), mask, T).item()
            assert got == pytest.approx(
                logp_by_hand(model, tok, ROWS[0]["prompt"], ROWS[0]["chosen"], T), rel=1e-5
            )
        # sharper at low temperature: different value
        assert completion_logps(
            model, ids, torch.ones_like(ids), mask, 0.1
        ).item() != pytest.approx(
            completion_logps(model, ids, torch.ones_like(ids), mask, 1.0).item(), rel=1e-3
        )


@pytest.mark.parametrize("T, precision", [(0.1, "fp32"), (1.0, "fp32"), (0.1, "bf16")])
def test_trainer_uses_tempered_reference(tiny_model_dir, tmp_path, T, precision):
    """The reference columns are log softmax(logits / T) of the fp32 reference, also when the
    policy trains under bf16 autocast (1/T = 10 would amplify bf16 rounding ten-fold)."""
    trainer, tok = training.make_dpo_trainer(
        tiny_model_dir, ROWS, HP, 0, precision, str(tmp_path), ref_dir=tiny_model_dir,
        ref_temperature=T,
    )  # fmt: skip
    assert trainer.args.bf16 == (precision == "bf16")
    ds = trainer.train_dataset
    ref = models.load_policy(tiny_model_dir).eval()
    for i, row in enumerate(ROWS):
        assert ds[i]["ref_chosen_logps"] == pytest.approx(
            logp_by_hand(ref, tok, row["prompt"], row["chosen"], T), rel=1e-5
        )
        assert ds[i]["ref_rejected_logps"] == pytest.approx(
            logp_by_hand(ref, tok, row["prompt"], row["rejected"], T), rel=1e-5
        )


def test_reference_free_has_zero_reference(tiny_model_dir, tmp_path):
    trainer, _ = training.make_dpo_trainer(
        tiny_model_dir, ROWS, HP, 0, "fp32", str(tmp_path), ref_dir=None
    )
    assert trainer.train_dataset["ref_chosen_logps"] == [0.0, 0.0]
    assert trainer.train_dataset["ref_rejected_logps"] == [0.0, 0.0]
