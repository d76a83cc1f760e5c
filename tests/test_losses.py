"""The paper's three losses against hand-computed values (and DPO against TRL's own loss)."""

import math

import pytest
import torch

from allroads.losses import bradley_terry_loss, dpo_loss, reference_free_dpo_loss


def nll_sigmoid(x):
    return -math.log(1 / (1 + math.exp(-x)))


def test_bradley_terry_by_hand():
    rc, rr = torch.tensor([2.0, 0.0]), torch.tensor([1.0, 3.0])
    expected = (nll_sigmoid(1.0) + nll_sigmoid(-3.0)) / 2
    assert bradley_terry_loss(rc, rr).item() == pytest.approx(expected, rel=1e-6)
    # equal rewards: log 2
    assert bradley_terry_loss(torch.zeros(3), torch.zeros(3)).item() == pytest.approx(math.log(2))


def test_dpo_by_hand():
    # margin = (-10 - -12) - (-15 - -14) = 2 - (-1) = 3; beta 0.1 -> 0.3
    loss = dpo_loss(
        torch.tensor([-10.0]),
        torch.tensor([-15.0]),
        torch.tensor([-12.0]),
        torch.tensor([-14.0]),
        0.1,
    )
    assert loss.item() == pytest.approx(nll_sigmoid(0.3), rel=1e-6)


def test_reference_free_is_dpo_with_zero_reference():
    lc, lr = torch.tensor([-5.0, -7.0]), torch.tensor([-6.0, -4.0])
    beta = 1 / 53
    expected = (nll_sigmoid(beta * 1.0) + nll_sigmoid(beta * -3.0)) / 2
    assert reference_free_dpo_loss(lc, lr, beta).item() == pytest.approx(expected, rel=1e-6)
    assert dpo_loss(lc, lr, torch.zeros(2), torch.zeros(2), beta).item() == pytest.approx(
        expected, rel=1e-6
    )
