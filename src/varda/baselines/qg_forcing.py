"""Weak-constraint QG 4D-Var over a forcing control, preconditioned by the model-error statistics.

Over a window of T days the trajectory is ::

    x[0] = x_b[0] + σ_b · B½ u,        x[t] = M(x[t − 1]) + w[t],
    w[1] = σ_q · Q½ v[1],               w[t] = a · w[t − 1] + √(1 − a²) · σ_q · Q½ v[t]

(M: a day of free QG flow; w: the model error, red in time with lag-one correlation ``a``;
B½ and Q½: isotropic spectral filters with unit pointwise variance) and the cost over the
control ``(u, v)`` is ::

    J = ½ Σ_Ω (x − y)² / σ_o² + ½ ‖u‖² + ½ ‖v‖²

The control is whitened (its prior covariance is the identity), so L-BFGS works on a
well-scaled problem; a change of the initial state or of an early model error moves the
whole trajectory, so information crosses the window in one iteration (the state control
moves it one day per iteration).

Every statistic comes from the data, not from the generator of an OSSE
(:func:`model_error_stats`): the model error's spectrum, pointwise std and lag-one
correlation are those of the first guess's day-to-day residuals under the model,
``x_b[t] − M(x_b[t − 1])``, the background's spectrum that of the first guess itself.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from varda.core.priors.qg import QGFlowPrior


@dataclass(frozen=True)
class ModelErrorStats:
    """Statistics of a first guess's residuals under the model (normalised units).

    Attributes:
        std: pointwise std of the daily residual ``x_b[t] − M(x_b[t − 1])``.
        lag1: its lag-one-day correlation (clipped to [0, 0.95]).
        q_amplitude: rfft2 amplitude filter of the residual (isotropic), unit pointwise variance.
        b_amplitude: rfft2 amplitude filter of the first guess (isotropic), unit pointwise variance.
    """

    std: float
    lag1: float
    q_amplitude: torch.Tensor
    b_amplitude: torch.Tensor


def isotropic_amplitude(fields: np.ndarray) -> torch.Tensor:
    """The rfft2 amplitude filter with the radially averaged spectrum of ``fields``
    ``(n, ny, nx)``, scaled so that filtering white noise gives unit pointwise variance."""
    n, ny, nx = fields.shape
    power = (np.abs(np.fft.rfft2(fields)) ** 2).mean(0)
    ky = np.fft.fftfreq(ny) * ny
    kx = np.fft.rfftfreq(nx) * nx
    ring = np.sqrt(ky[:, None] ** 2 + kx[None] ** 2).round().astype(int)
    radial = np.bincount(ring.ravel(), power.ravel()) / np.maximum(np.bincount(ring.ravel()), 1)
    amp = np.sqrt(radial[ring])
    amp[0, 0] = 0.0                                       # the domain mean is not controlled
    weight = np.full(nx // 2 + 1, 2.0)                    # rfft half-plane weights
    weight[0] = 1.0
    if nx % 2 == 0:
        weight[-1] = 1.0
    var = float((amp ** 2 * weight[None]).sum()) / (ny * nx)
    return torch.from_numpy((amp / math.sqrt(max(var, 1e-30))).astype(np.float32))


def filtered(v: torch.Tensor, amplitude: torch.Tensor) -> torch.Tensor:
    """``v (..., ny, nx)`` filtered by an rfft2 amplitude (a square-root covariance)."""
    return torch.fft.irfft2(torch.fft.rfft2(v) * amplitude, s=v.shape[-2:])


def model_error_stats(first_guess: torch.Tensor, prior: QGFlowPrior) -> ModelErrorStats:
    """:class:`ModelErrorStats` of a normalised first guess ``(T, ny, nx)`` (T ≥ 3)."""
    with torch.no_grad():
        res = (first_guess[1:] - prior.step_normalised(first_guess[:-1])).double().numpy()
    a = np.corrcoef(res[1:].ravel(), res[:-1].ravel())[0, 1]
    return ModelErrorStats(std=float(res.std()), lag1=float(np.clip(np.nan_to_num(a), 0.0, 0.95)),
                           q_amplitude=isotropic_amplitude(res),
                           b_amplitude=isotropic_amplitude(first_guess.double().numpy()))


@dataclass(frozen=True)
class ForcingCost:
    """The whitened weak-constraint cost of one batch of windows (see the module doc)."""

    y: torch.Tensor              # (B, T, ny, nx), 0 off Ω
    mask: torch.Tensor           # (B, T, ny, nx) float
    background: torch.Tensor     # (B, T, ny, nx), the first guess
    prior: QGFlowPrior
    stats: ModelErrorStats
    sigma_q: float
    sigma_b: float
    sigma_o: float

    def trajectory(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """States ``(B, T, ny, nx)`` of the control ``u (B, ny, nx)``, ``v (B, T − 1, ny, nx)``."""
        a = self.stats.lag1
        c = math.sqrt(1.0 - a * a)
        xs = [self.background[:, 0] + self.sigma_b * filtered(u, self.stats.b_amplitude)]
        w = None
        for t in range(v.shape[1]):
            e = self.sigma_q * filtered(v[:, t], self.stats.q_amplitude)
            w = e if w is None else a * w + c * e
            xs.append(self.prior.step_normalised(xs[-1]) + w)
        return torch.stack(xs, 1)

    def __call__(self, u: torch.Tensor, v: torch.Tensor, *, fit_background: bool = False
                 ) -> torch.Tensor:
        x = self.trajectory(u, v)
        if fit_background:          # spin-up: follow the first guess everywhere
            misfit = ((x - self.background) ** 2).sum() / self.sigma_b ** 2
        else:
            misfit = ((x - self.y) ** 2 * self.mask).sum() / self.sigma_o ** 2
        return 0.5 * (misfit + (u ** 2).sum() + (v ** 2).sum())


def solve_forcing_control(cost: ForcingCost, *, n_iter: int, spinup_iter: int = 30,
                          history_size: int = 30) -> tuple[torch.Tensor, int]:
    """Minimise ``cost`` by L-BFGS (strong Wolfe) from a zero control, after ``spinup_iter``
    iterations that fit the trajectory to the first guess (a free QG run from the first
    guess's first day drifts away from it within days; the spin-up starts the minimisation
    from a forced trajectory near it). Returns the states and the cost evaluations."""
    b, t, ny, nx = cost.y.shape
    u = torch.zeros(b, ny, nx, requires_grad=True)
    v = torch.zeros(b, t - 1, ny, nx, requires_grad=True)
    calls = 0
    for iters, spin in ((spinup_iter, True), (n_iter, False)):
        if iters <= 0:
            continue
        opt = torch.optim.LBFGS([u, v], lr=1.0, max_iter=iters, history_size=history_size,
                                line_search_fn="strong_wolfe", tolerance_grad=1e-12,
                                tolerance_change=1e-16)

        def closure(spin: bool = spin) -> torch.Tensor:
            nonlocal calls
            calls += 1
            opt.zero_grad()
            j = cost(u, v, fit_background=spin)
            j.backward()
            return j

        opt.step(closure)
    with torch.no_grad():
        return cost.trajectory(u, v), calls


__all__ = ["ModelErrorStats", "ForcingCost", "model_error_stats", "isotropic_amplitude",
           "filtered", "solve_forcing_control"]
