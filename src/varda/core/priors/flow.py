"""ODE-flow prior Φ(x)(t) = RK4 flow of x(t − Δ) over one step; the first time step is kept."""
from __future__ import annotations

import torch
from torch import nn

from varda.core.ode import build_ode, rk4_step
from varda.core.components import Prior
from varda.core.priors.registry import register


@register("flow")
class ODEFlowPrior(Prior):
    """Φ(x)[t] = x[t] for t = 0 and Φ(x)[t] = RK4(ode, x[t − 1], dt) for t ≥ 1.

    The state is ``(B, C, *spatial)`` with time on spatial axis ``time_axis``; the ODE sees
    ``(N, C, *other axes)``. The ODE acts on the model's working units: a physical ODE (the
    true Lorenz-96 equations) needs the model's normalisation left at mean 0, std 1 (VarModel
    warns otherwise); a learned ODE can work in normalised units.

    Args:
        ode: ODE config, e.g. ``{"type": "lorenz96", "forcing": 8.0}`` or ``{"type": "bilinear"}``.
        dt: time between two consecutive time steps of the field.
        n_substeps: RK4 sub-steps per time step.
        time_axis: index of the time axis among the spatial axes.
    """

    def __init__(self, *, ode: dict, dt: float = 0.05, n_substeps: int = 1,
                 time_axis: int = 0) -> None:
        super().__init__()
        self.ode = build_ode(ode)
        self.dt = float(dt)
        self.n_substeps = int(n_substeps)
        self.time_axis = int(time_axis)
        self.config = {"ode": dict(ode), "dt": dt, "n_substeps": n_substeps, "time_axis": time_axis}

    def fixed_axes(self, ndim: int) -> tuple[bool, ...]:
        """Per spatial axis, whether fields cannot be tiled along it: every axis but time (the
        others form the ODE's state vector, which must be whole)."""
        t = self.time_axis % ndim
        return tuple(i != t for i in range(ndim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = 2 + self.time_axis
        xt = x.movedim(t, 1)                                # (B, T, C, *rest)
        b, nt = xt.shape[:2]
        prev = xt[:, :-1].reshape(b * (nt - 1), *xt.shape[2:])
        nxt = rk4_step(self.ode, prev, self.dt, self.n_substeps).reshape(b, nt - 1, *xt.shape[2:])
        return torch.cat([xt[:, :1], nxt], dim=1).movedim(1, t)
