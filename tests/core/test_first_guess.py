"""Learned first guesses: shapes, equivariance, the VarModel start, checkpoints, fit modes."""
from __future__ import annotations

import pytest
import torch

from varda.core.checkpoint import load, save
from varda.core.first_guess import FIRST_GUESSES, BiGRUSmoother, build_first_guess
from varda.core.model import build_model
from varda.core.trainer import fit
from varda.errors import ConfigError

KW = dict(batch_size=8, lr=1e-2, progress=False, seed=0)


def _obs(n: int = 3, t: int = 10, s: int = 8, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, t, s, generator=g)
    m = (torch.rand(x.shape, generator=g) < 0.4).float()
    return x, x * m, m


def _fg_model(seed: int = 0, **fg):
    torch.manual_seed(seed)
    cfg = {"prior": {"type": "unet", "ndim": 2, "hidden": 4, "pool": [2, 2],
                     "periodic": [False, True]},
           "solver": {"type": "lstm", "ndim": 2, "hidden": 4, "periodic": [False, True]},
           "cost": {"rho": "square", "lambda_init": 0.5},
           "axes": ["time", "site"], "patch_shape": [8, 8], "n_iter": 3}
    cfg["first_guess"] = {"type": "bigru", "hidden": 4, "layers": 1, "kernel": 3,
                          "periodic": [True], "chunk": 2, **fg}
    return build_model(cfg)


@pytest.mark.parametrize("t", [8, 10, 11])
def test_shape_kept_for_any_time_length(t: int) -> None:
    """Time lengths that are not a multiple of the chunk are padded and cropped back."""
    net = BiGRUSmoother(hidden=4, layers=2, kernel=3, chunk=4)
    _, y, m = _obs(t=t)
    assert net(y, m).shape == y.shape


def test_periodic_axis_is_equivariant_to_cyclic_shifts() -> None:
    net = BiGRUSmoother(hidden=4, layers=2, kernel=3, chunk=2, periodic=True)
    _, y, m = _obs()
    out = net(y, m)
    shifted = net(torch.roll(y, 3, -1), torch.roll(m, 3, -1))
    torch.testing.assert_close(shifted, torch.roll(out, 3, -1), atol=1e-5, rtol=1e-5)


def test_unobserved_values_are_ignored_and_both_time_directions_are_seen() -> None:
    """Only y·Ω enters (garbage in the gaps changes nothing), and an observation changes the
    output both before and after its time (the smoother runs forward and backward)."""
    net = BiGRUSmoother(hidden=4, layers=1, kernel=3, chunk=2)
    _, y, m = _obs(n=1, t=12)
    m[..., 6, 3] = 1.0
    base = net(y, m)
    torch.testing.assert_close(net(torch.where(m > 0, y, torch.full_like(y, 1e3)), m), base)
    y2 = y.clone()
    y2[..., 6, 3] += 5.0
    diff = (net(y2, m) - base).abs().sum(dim=(0, 1, 3))
    assert diff[:6].sum() > 0 and diff[8:].sum() > 0


def test_bad_configurations_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="ndim >= 2"):
        BiGRUSmoother(ndim=1)
    with pytest.raises(ValueError, match="periodic needs 2 flags"):
        BiGRUSmoother(ndim=3, periodic=[True])
    with pytest.raises(ConfigError, match="'bigru'"):
        build_first_guess({"type": "kalman"})
    assert build_first_guess(None) is None and set(FIRST_GUESSES) == {"bigru", "cascade"}


def test_model_starts_from_its_first_guess() -> None:
    """K = 0 returns the first guess; without one the start is y with zeros in the gaps."""
    model = _fg_model().eval()
    _, y, m = _obs(t=8)
    with torch.no_grad():
        torch.testing.assert_close(model(y, m, n_iter=0), model.first_guess(y, m))
        model.first_guess = None
        torch.testing.assert_close(model(y, m, n_iter=0), y * m)


def test_checkpoint_round_trip_keeps_the_first_guess(tmp_path) -> None:
    model = _fg_model(seed=3).eval()
    _, y, m = _obs(t=8)
    path = save(model, tmp_path / "fg")
    again = load(path)
    assert again.config["first_guess"] == model.config["first_guess"]
    with torch.no_grad():
        torch.testing.assert_close(again(y, m), model(y, m))


def test_fit_first_guess_trains_it_alone() -> None:
    model = _fg_model(seed=1)
    x, y, m = _obs(n=32, t=8, seed=1)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    hist = fit(model, x, y, m, mode="first_guess", epochs=6, **KW)
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    changed = {n.split(".")[0] for n, p in model.named_parameters() if not torch.equal(before[n], p)}
    assert changed == {"first_guess"}


def test_joint_fit_holds_the_first_guess_and_uses_given_starts() -> None:
    model = _fg_model(seed=2)
    x, y, m = _obs(n=16, t=8, seed=2)
    before = {n: p.detach().clone() for n, p in model.first_guess.named_parameters()}
    fit(model, x, y, m, epochs=1, n_iter_schedule={0: 2}, x0=x.clone(), **KW)
    assert all(torch.equal(before[n], p) for n, p in model.first_guess.named_parameters())
    # starting at the truth gives a smaller loss than starting from the (untrained) first guess
    fresh = [_fg_model(seed=2) for _ in range(2)]
    h_true = fit(fresh[0], x, y, m, epochs=1, n_iter_schedule={0: 1}, x0=x, **KW)
    h_fg = fit(fresh[1], x, y, m, epochs=1, n_iter_schedule={0: 1}, **KW)
    assert h_true[0]["train_loss"] < h_fg[0]["train_loss"]


def test_fit_rejects_bad_first_guess_inputs(tiny_model) -> None:
    x, y, m = _obs(n=8, t=8)
    with pytest.raises(ValueError, match="needs a model with a first guess"):
        fit(tiny_model(), x, y, m, mode="first_guess", epochs=1, **KW)
    with pytest.raises(ValueError, match="shape of y"):
        fit(_fg_model(), x, y, m, epochs=1, x0=x[:, :, :4], **KW)
    with pytest.raises(ValueError, match="self-supervised"):
        fit(_fg_model(), None, y, m, epochs=1, x0=x, **KW)
