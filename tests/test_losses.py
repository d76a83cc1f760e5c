"""The loss the workflow trains with (TRL's DPOTrainer through make_dpo_trainer), against a hand
computation on a tiny model: offline DPO, online DPO with the policy tempered as the authors ran
it (REBEL src/tldr/dpo_fix.py: logits / 0.1 for the policy and the reference), online DPO with
the reference alone tempered, and the reference-free loss of the local RM."""

import math

import pytest
import torch
from dpo_rows import ROWS, logp_by_hand

from allroads import models, training
from allroads.config import stage_defaults

BETA = 0.05
HP = {**stage_defaults("dpo"), "epochs": 1, "batch_size": 2, "lr": 1e-3, "beta": BETA}


def dpo_by_hand(pol, ref, beta):
    """mean over pairs of -log sigmoid(beta [(pi_c - ref_c) - (pi_r - ref_r)])."""
    out = []
    for (pc, pr), (rc, rr) in zip(pol, ref, strict=True):
        m = beta * ((pc - rc) - (pr - rr))
        out.append(math.log1p(math.exp(-m)))
    return sum(out) / len(out)


def trainer_loss(trainer):
    ds = trainer.train_dataset
    batch = trainer.data_collator([ds[i] for i in range(len(ds))])
    trainer.model.eval()
    with torch.no_grad():
        return trainer.compute_loss(trainer.model, batch).item()


@pytest.fixture(scope="module")
def trained_policy(tiny_model_dir, tmp_path_factory):
    """A policy that differs from the reference (one SFT-like step away from the tiny model)."""
    out = tmp_path_factory.mktemp("pol")
    model = models.load_trainable_policy(tiny_model_dir)
    tok = models.load_tokenizer(tiny_model_dir)
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    models.save(model, tok, out)
    return str(out)


@pytest.mark.parametrize(
    "case, ref_T, pol_T",
    [
        ("offline DPO", 1.0, 1.0),
        ("online DPO, policy and reference at T (authors)", 0.1, 0.1),
        ("online DPO, reference alone at T", 0.1, 1.0),
    ],
)
def test_dpo_loss_matches_hand_computation(
    trained_policy, tiny_model_dir, tmp_path, case, ref_T, pol_T
):
    trainer, tok = training.make_dpo_trainer(
        trained_policy, ROWS, HP, 0, "fp32", str(tmp_path), ref_dir=tiny_model_dir,
        ref_temperature=ref_T, policy_temperature=pol_T,
    )  # fmt: skip
    pol_model = models.load_policy(trained_policy).eval()
    ref_model = models.load_policy(tiny_model_dir).eval()
    pol = [
        [logp_by_hand(pol_model, tok, r["prompt"], r[k], pol_T) for k in ("chosen", "rejected")]
        for r in ROWS
    ]
    ref = [
        [logp_by_hand(ref_model, tok, r["prompt"], r[k], ref_T) for k in ("chosen", "rejected")]
        for r in ROWS
    ]
    assert trainer_loss(trainer) == pytest.approx(dpo_by_hand(pol, ref, BETA), rel=1e-4), case
    # the other choice of policy temperature gives a different loss: the switch is live
    other = dpo_by_hand(
        [[logp_by_hand(pol_model, tok, r["prompt"], r[k], 1.0 if pol_T != 1.0 else 0.1) for k in ("chosen", "rejected")] for r in ROWS],
        ref, BETA,
    )  # fmt: skip
    assert trainer_loss(trainer) != pytest.approx(other, rel=1e-3)


def test_tempered_policy_equals_tempered_reference_at_start(tiny_model_dir, tmp_path):
    """Online DPO starts from its reference (the generator). Scored at the same T, every margin
    is 0 and the loss is log 2; with the reference alone tempered it is not."""
    both, _ = training.make_dpo_trainer(
        tiny_model_dir, ROWS, HP, 0, "fp32", str(tmp_path / "a"), ref_dir=tiny_model_dir,
        ref_temperature=0.1, policy_temperature=0.1,
    )  # fmt: skip
    assert trainer_loss(both) == pytest.approx(math.log(2), abs=1e-5)
    ref_only, _ = training.make_dpo_trainer(
        tiny_model_dir, ROWS, HP, 0, "fp32", str(tmp_path / "b"), ref_dir=tiny_model_dir,
        ref_temperature=0.1, policy_temperature=1.0,
    )  # fmt: skip
    assert abs(trainer_loss(ref_only) - math.log(2)) > 1e-3


def test_reference_free_loss_by_hand(trained_policy, tmp_path):
    """Local RM (Table 4): no reference, beta = 1/H."""
    beta = 1 / 53
    trainer, tok = training.make_dpo_trainer(
        trained_policy, ROWS, HP, 0, "fp32", str(tmp_path), ref_dir=None, beta=beta
    )
    pol_model = models.load_policy(trained_policy).eval()
    pol = [
        [logp_by_hand(pol_model, tok, r["prompt"], r[k], 1.0) for k in ("chosen", "rejected")]
        for r in ROWS
    ]
    assert trainer_loss(trainer) == pytest.approx(dpo_by_hand(pol, [[0, 0]] * 2, beta), rel=1e-4)
