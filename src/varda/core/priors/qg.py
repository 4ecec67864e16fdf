"""QG-flow prior: Φ(x)[t] = the 1.5-layer QG flow of x[t − 1] over one time step of the field.

With the quadratic penalty, U(x) = ‖x − y‖²_Ω + λ ‖x − Φ(x)‖² is the weak-constraint 4D-Var
cost with a model error penalised on every day (the state of every day is the control), so
VarModel's solvers (FSGD, the ConvLSTM solver) and an L-BFGS reference minimise it unchanged.
"""
from __future__ import annotations

from typing import Any

import torch

from varda.core.components import Prior
from varda.core.priors.registry import register
from varda.core.qg import QGModel
from varda.errors import ConfigError


@register("qg")
class QGFlowPrior(Prior):
    """Φ(x)[0] = x[0], Φ(x)[t] = QG(x[t − 1]) integrated over ``step_seconds``.

    The state ``(B, C, *spatial)`` has time on spatial axis ``time_axis`` and the two
    horizontal axes (lat, lon: ``(ny, nx)``) after it; every channel is an SSH field. The QG
    model acts on SSH in metres: ``norm_mean``/``norm_std`` convert the model's normalised
    state (give the VarModel's normalisation; the prior follows
    :meth:`varda.core.model.VarModel.set_normalization` through :meth:`set_units`).

    Args:
        qg: :class:`varda.core.qg.QGModel` options (``shape``, ``dx``, ``rossby_radius``,
            ``beta``, ``f0``, ``damping_days``, ``filter_order``); ``dt`` is set from
            ``step_seconds / n_substeps``.
        step_seconds: time between two consecutive fields (86400: daily).
        n_substeps: RK4 steps per field step.
        time_axis: index of the time axis among the spatial axes.
        norm_mean, norm_std: the state is ``(SSH − mean) / std``.
    """

    def __init__(self, *, qg: dict, step_seconds: float = 86400.0, n_substeps: int = 12,
                 time_axis: int = 0, norm_mean: float = 0.0, norm_std: float = 1.0) -> None:
        super().__init__()
        if n_substeps < 1:
            raise ConfigError(f"n_substeps must be >= 1, got {n_substeps}")
        opts = {k: v for k, v in dict(qg).items() if k != "dt"}
        self.qg = QGModel(**opts, dt=float(step_seconds) / int(n_substeps))
        self.step_seconds, self.n_substeps = float(step_seconds), int(n_substeps)
        self.time_axis = int(time_axis)
        self.norm_mean, self.norm_std = float(norm_mean), float(norm_std)
        self.config: dict[str, Any] = {"qg": opts, "step_seconds": step_seconds,
                                       "n_substeps": n_substeps, "time_axis": time_axis,
                                       "norm_mean": norm_mean, "norm_std": norm_std}

    def set_units(self, mean: float, std: float) -> None:
        """Follow the model's normalisation: the state is ``(SSH − mean) / std``."""
        self.norm_mean, self.norm_std = float(mean), float(std)
        self.config.update(norm_mean=self.norm_mean, norm_std=self.norm_std)

    def fixed_axes(self, ndim: int) -> tuple[bool, ...]:
        """Every axis but time is fixed (the periodic QG plane must be whole)."""
        t = self.time_axis % ndim
        return tuple(i != t for i in range(ndim))

    def check_cfl(self, x: torch.Tensor) -> None:
        """Raise if the RK4 sub-step is unstable for the flow of the state ``x`` (see
        :meth:`varda.core.qg.QGModel.check_cfl`)."""
        eta = x.detach() * self.norm_std + self.norm_mean
        self.qg.check_cfl(eta.reshape(-1, *eta.shape[-2:]))

    def flow(self, eta: torch.Tensor) -> torch.Tensor:
        """SSH ``(..., ny, nx)`` in metres after one field step of free QG flow."""
        return self.qg.integrate(eta, self.step_seconds)

    def step_normalised(self, z: torch.Tensor) -> torch.Tensor:
        """One field step of the flow on a normalised state ``(..., ny, nx)``."""
        return (self.flow(z * self.norm_std + self.norm_mean) - self.norm_mean) / self.norm_std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = 2 + self.time_axis
        xt = x.movedim(t, 2)                                 # (B, C, T, ny, nx)
        if xt.ndim != 5:
            raise ConfigError(f"the QG prior needs a state (B, C, time, ny, nx), got shape "
                              f"{tuple(x.shape)}")
        prev = xt[:, :, :-1] * self.norm_std + self.norm_mean
        nxt = (self.flow(prev) - self.norm_mean) / self.norm_std
        return torch.cat([xt[:, :, :1], nxt], dim=2).movedim(2, t)
