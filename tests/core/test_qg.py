"""The 1.5-layer QG model: conservation, westward drift, CFL error, gradients."""
import math

import pytest
import torch

from varda.core.qg import QGModel
from varda.errors import ConfigError, InputError


def _blob(n=32, dx=10e3, amp=0.05, x0=0.5):
    y, x = torch.meshgrid(torch.arange(n, dtype=torch.float64), torch.arange(n, dtype=torch.float64),
                          indexing="ij")
    r2 = (x - x0 * n) ** 2 + (y - n / 2) ** 2
    return amp * torch.exp(-r2 / (2 * 3.0 ** 2))


def test_inviscid_model_conserves_energy_and_enstrophy():
    m = QGModel(shape=(32, 32), dx=10e3, rossby_radius=40e3, beta=1.8e-11, f0=8.6e-5,
                damping_days=None, filter_order=None, dt=1800.0)
    g = torch.Generator().manual_seed(0)
    eta = torch.fft.irfft2(torch.fft.rfft2(torch.randn(32, 32, generator=g, dtype=torch.float64))
                           * (m.dealias * (m.kx ** 2 + m.ky ** 2 < (2 * math.pi / 80e3) ** 2)),
                           s=(32, 32)) * 0.3
    e0, z0 = m.energy(eta), m.enstrophy(eta)
    out = m.integrate(eta, 5 * 86400.0)
    assert (out - eta).abs().max() > 1e-3 * eta.abs().max()           # it moved
    assert abs(float(m.energy(out) / e0) - 1) < 1e-5
    assert abs(float(m.enstrophy(out) / z0) - 1) < 1e-5


def test_beta_drifts_an_eddy_westward():
    m = QGModel(shape=(32, 32), dx=10e3, rossby_radius=40e3, beta=1.8e-11, f0=8.6e-5, dt=3600.0)
    eta = _blob(amp=0.005)                          # weak: nearly linear Rossby-wave drift
    out = m.integrate(eta, 20 * 86400.0)
    cols = torch.arange(32, dtype=torch.float64)
    cx = lambda f: float((f.clamp_min(0).sum(0) * cols).sum() / f.clamp_min(0).sum())
    assert cx(out) < cx(eta) - 0.5                  # the centre moved west (decreasing x)


def test_unstable_time_step_names_the_safe_one():
    m = QGModel(shape=(32, 32), dx=10e3, rossby_radius=40e3, dt=86400.0)
    with pytest.raises(InputError, match="CFL-safe step of"):
        m.check_cfl(_blob(amp=0.3))
    m.check_cfl(_blob(amp=0.3), dt=600.0)           # a small step passes


def test_rossby_radius_below_grid_step_is_refused():
    with pytest.raises(ConfigError, match="not larger than the grid step"):
        QGModel(shape=(16, 16), dx=10e3, rossby_radius=30.0)


def test_gradient_through_rk4_matches_finite_differences():
    m = QGModel(shape=(16, 16), dx=10e3, rossby_radius=40e3, dt=3600.0)
    eta = (_blob(n=16, amp=0.1) + 0.01).requires_grad_(True)
    w = torch.randn(16, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    f = lambda e: (m.integrate(e, 6 * 3600.0) * w).sum()
    (g,) = torch.autograd.grad(f(eta), eta)
    d = torch.randn(16, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 1e-4
    fd = (f(eta.detach() + d) - f(eta.detach() - d)) / 2
    assert float(fd) == pytest.approx(float((g * d).sum()), rel=1e-4)
