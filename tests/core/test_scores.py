"""Scores on cases checkable by hand; device resolution."""
from __future__ import annotations

import math

import pytest
import torch

from varda.core.device import resolve_device
from varda.core.scores import i_score, p_score, r_score, rmse
from varda.errors import ConfigError

TRUTH = torch.tensor([[[1.0, -1.0, 2.0, -2.0]]])       # mean square = (1 + 1 + 4 + 4) / 4 = 2.5
X_HAT = torch.tensor([[[1.0, 0.0, 2.0, 1.0]]])         # errors 0, 1, 0, 3 → squares 0, 1, 0, 9
MASK = torch.tensor([[[1.0, 0.0, 1.0, 1.0]]])          # one gap, at index 1


def test_r_score_hand_case() -> None:
    assert r_score(X_HAT, TRUTH) == pytest.approx((10 / 4) / 2.5)        # = 1.0
    assert r_score(X_HAT, TRUTH, scale=5.0) == pytest.approx(2.5 / 5.0)
    assert r_score(TRUTH, TRUTH) == 0.0


def test_i_score_only_counts_gaps() -> None:
    assert i_score(X_HAT, TRUTH, MASK) == pytest.approx(1.0 / 2.5)       # gap error² = 1
    no_gap_err = torch.tensor([[[1.0, -1.0, 7.0, 9.0]]])                 # wrong only where seen
    assert i_score(no_gap_err, TRUTH, MASK) == 0.0
    with pytest.raises(ValueError, match="empty"):
        i_score(X_HAT, TRUTH, torch.ones_like(MASK))


def test_p_score_hand_case() -> None:
    assert p_score(lambda x: x, TRUTH) == 0.0
    assert p_score(torch.zeros_like, TRUTH) == pytest.approx(1.0)         # ‖x‖² / ‖x‖²
    assert p_score(lambda x: 0.5 * x, TRUTH, scale=1.0) == pytest.approx(0.25 * 2.5)


def test_p_score_does_not_track_gradients() -> None:
    w = torch.tensor(2.0, requires_grad=True)
    assert isinstance(p_score(lambda x: w * x, TRUTH), float)


def test_rmse_hand_case() -> None:
    assert rmse(X_HAT, TRUTH) == pytest.approx(math.sqrt(10 / 4))
    assert rmse(X_HAT, TRUTH, MASK) == pytest.approx(math.sqrt(9 / 3))   # observed: 0, 0, 9
    assert rmse(X_HAT, TRUTH, MASK == 0) == pytest.approx(1.0)


def test_resolve_device() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    auto = resolve_device("auto")
    assert auto.type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        assert auto.type != "cuda"
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda")
    with pytest.raises(ConfigError, match="'auto', 'cpu', 'cuda', 'mps'"):
        resolve_device("tpu")
