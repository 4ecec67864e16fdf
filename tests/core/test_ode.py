"""RK4 order of convergence and the Lorenz-96 tendency."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from varda.core.ode import BilinearODE, Lorenz96, build_ode, rk4_step
from varda.errors import ConfigError


def test_l96_tendency_hand_computed() -> None:
    # dx_i/dt = (x_{i+1} − x_{i−2}) x_{i−1} − x_i + F, cyclic, F = 8, x = [1, 2, 3, 4, 5]
    #   i=0: (x1 − x3) x4 − x0 + 8 = (2 − 4)·5 − 1 + 8 = −3
    #   i=1: (x2 − x4) x0 − x1 + 8 = (3 − 5)·1 − 2 + 8 =  4
    #   i=2: (x3 − x0) x1 − x2 + 8 = (4 − 1)·2 − 3 + 8 = 11
    #   i=3: (x4 − x1) x2 − x3 + 8 = (5 − 2)·3 − 4 + 8 = 13
    #   i=4: (x0 − x2) x3 − x4 + 8 = (1 − 3)·4 − 5 + 8 = −5
    x = torch.tensor([[[1.0, 2.0, 3.0, 4.0, 5.0]]])
    expected = torch.tensor([[[-3.0, 4.0, 11.0, 13.0, -5.0]]])
    torch.testing.assert_close(Lorenz96(forcing=8.0)(x), expected)
    # another case, F = 0.5, x = [0, −1, 2, 0.5, 3]:
    #   i=0: (−1 − 0.5)·3 − 0 + 0.5 = −4
    #   i=1: (2 − 3)·0 + 1 + 0.5 = 1.5
    #   i=2: (0.5 − 0)·(−1) − 2 + 0.5 = −2
    #   i=3: (3 − (−1))·2 − 0.5 + 0.5 = 8
    #   i=4: (0 − 2)·0.5 − 3 + 0.5 = −3.5
    x = torch.tensor([[[0.0, -1.0, 2.0, 0.5, 3.0]]])
    expected = torch.tensor([[[-4.0, 1.5, -2.0, 8.0, -3.5]]])
    torch.testing.assert_close(Lorenz96(forcing=0.5)(x), expected)


def test_l96_torch_matches_numpy_generator() -> None:
    from varda.datasets.lorenz96 import l96_tendency
    x = np.random.default_rng(0).normal(size=(3, 40))
    torch.testing.assert_close(Lorenz96()(torch.from_numpy(x)).numpy(), l96_tendency(x))


def test_rk4_global_error_ratio_is_16() -> None:
    """Fourth order: halving dt divides the global error at a fixed time by 2⁴ = 16."""
    f = Lorenz96(forcing=8.0).double()
    x0 = 8.0 + torch.randn(1, 1, 40, generator=torch.Generator().manual_seed(0),
                           dtype=torch.float64)
    x0 = rk4_step(f, x0, 2.0, 200)          # onto the attractor
    t_end = 1.0
    ref = rk4_step(f, x0, t_end, 5120)      # dt = 1/5120
    err = {n: (rk4_step(f, x0, t_end, n) - ref).abs().max().item() for n in (160, 320)}
    ratio = err[160] / err[320]
    assert 14.0 < ratio < 18.0, (err, ratio)
    # and the step count is what sets dt: one step of T/n·n sub-steps equals n steps of T/n
    xs = x0
    for _ in range(4):
        xs = rk4_step(f, xs, 0.05)
    torch.testing.assert_close(xs, rk4_step(f, x0, 0.2, 4))


def test_bilinear_ode_can_represent_lorenz96() -> None:
    """With stencil 5 and rank 2 the bilinear ODE contains L96 exactly (weights set by hand)."""
    ode = BilinearODE(rank=2, stencil=5).double()
    with torch.no_grad():
        for p in ode.parameters():
            p.zero_()
        # taps of the 5-stencil read x_{i-2}, x_{i-1}, x_i, x_{i+1}, x_{i+2}
        ode.lin.weight[0, 0, 2] = -1.0
        ode.lin.bias[0] = 8.0
        ode.b1.weight[0, 0, 3] = 1.0      # x_{i+1}
        ode.b1.weight[1, 0, 0] = 1.0      # x_{i-2}
        ode.b2.weight[:, 0, 1] = 1.0      # x_{i-1} in both ranks
        ode.out.weight[0, :, 0] = torch.tensor([1.0, -1.0])
    x = torch.randn(4, 1, 12, dtype=torch.float64)
    torch.testing.assert_close(ode(x), Lorenz96().double()(x))


def test_unknown_ode_lists_valid() -> None:
    with pytest.raises(ConfigError, match="'bilinear', 'lorenz96'"):
        build_ode({"type": "lorenz63"})
