"""Temperature scaling of reference log-probs and their use by the DPO trainer."""

import pytest
import torch

from allroads import models, training
from allroads.logprobs import completion_logps
from allroads.losses import dpo_loss

ROWS = [
    {"prompt": "SUBREDDIT: r/toy\n\nTITLE: about bob\n\nPOST: bob likes cats .\n\nTL;DR:",
     "chosen": " bob likes cats", "rejected": " cats cats"},
    {"prompt": "SUBREDDIT: r/toy\n\nTITLE: about zoe\n\nPOST: zoe owns boats . so ivan sold maps .\n\nTL;DR:",
     "chosen": " zoe owns boats", "rejected": " ivan sold maps so"},
]  # fmt: skip
HP = {"epochs": 1, "batch_size": 2, "lr": 1e-3, "beta": 0.1}


def manual_logp(model, tok, prompt, completion, T):
    p = tok(prompt)["input_ids"]
    c = tok(completion + tok.eos_token)["input_ids"]
    ids = torch.tensor([p + c])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0] / T
    lp = torch.log_softmax(logits, -1)
    return sum(lp[len(p) + i - 1, t].item() for i, t in enumerate(c))


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
                manual_logp(model, tok, ROWS[0]["prompt"], ROWS[0]["chosen"], T), rel=1e-5
            )
        # sharper at low temperature: different value
        assert completion_logps(
            model, ids, torch.ones_like(ids), mask, 0.1
        ).item() != pytest.approx(
            completion_logps(model, ids, torch.ones_like(ids), mask, 1.0).item(), rel=1e-3
        )


@pytest.mark.parametrize("T", [0.1, 1.0])
def test_trainer_uses_tempered_reference(tiny_model_dir, tmp_path, T):
    trainer, tok = training.make_dpo_trainer(
        tiny_model_dir,
        ROWS,
        HP,
        0,
        "fp32",
        str(tmp_path),
        ref_dir=tiny_model_dir,
        ref_temperature=T,
    )
    ds = trainer.train_dataset
    ref = models.load_policy(tiny_model_dir).eval()
    for i, row in enumerate(ROWS):
        assert ds[i]["ref_chosen_logps"] == pytest.approx(
            manual_logp(ref, tok, row["prompt"], row["chosen"], T), rel=1e-5
        )
        assert ds[i]["ref_rejected_logps"] == pytest.approx(
            manual_logp(ref, tok, row["prompt"], row["rejected"], T), rel=1e-5
        )
    # TRL's loss at step 0 equals our DPO loss with policy log-probs at T=1 and the tempered reference
    batch = trainer.data_collator([ds[i] for i in range(len(ROWS))])
    trainer.model.eval()
    with torch.no_grad():
        trl_loss = trainer.compute_loss(trainer.model, batch).item()
    pol = [
        manual_logp(ref, tok, r["prompt"], r[k], 1.0) for k in ("chosen", "rejected") for r in ROWS
    ]
    ours = dpo_loss(
        torch.tensor(pol[:2]), torch.tensor(pol[2:]),
        torch.tensor([ds[i]["ref_chosen_logps"] for i in range(2)]),
        torch.tensor([ds[i]["ref_rejected_logps"] for i in range(2)]), HP["beta"],
    )  # fmt: skip
    assert trl_loss == pytest.approx(ours.item(), rel=1e-4)
    if T == 1.0:  # policy == reference: every margin is 0
        assert trl_loss == pytest.approx(0.6931, abs=1e-3)


def test_reference_free_has_zero_reference(tiny_model_dir, tmp_path):
    trainer, _ = training.make_dpo_trainer(
        tiny_model_dir, ROWS, HP, 0, "fp32", str(tmp_path), ref_dir=None
    )
    assert trainer.train_dataset["ref_chosen_logps"] == [0.0, 0.0]
    assert trainer.train_dataset["ref_rejected_logps"] == [0.0, 0.0]
