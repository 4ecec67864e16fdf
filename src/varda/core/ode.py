"""ODE right-hand sides and the RK4 step used by the flow prior.

Every ODE module maps a state tensor ``(N, C, *state)`` to its tendency, same shape.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from varda.errors import unknown_choice


def rk4_step(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, dt: float,
             n_substeps: int = 1) -> torch.Tensor:
    """Advance ``x`` by ``dt`` with ``n_substeps`` classical 4th-order Runge–Kutta steps."""
    h = dt / n_substeps
    for _ in range(n_substeps):
        k1 = f(x)
        k2 = f(x + 0.5 * h * k1)
        k3 = f(x + 0.5 * h * k2)
        k4 = f(x + h * k3)
        x = x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return x


class Lorenz96(nn.Module):
    """Lorenz-96 tendency dx_i/dt = (x_{i+1} − x_{i−2}) x_{i−1} − x_i + F, cyclic on the last dim.

    Args:
        forcing: the constant forcing F (8 gives chaos).
        learn_forcing: make F a trainable parameter.
        norm_mean, norm_std: the state is given normalised, z = (x − mean) / std (as inside a
            VarModel with that normalisation); the tendency is then dz/dt = f(std·z + mean)/std.
            The defaults (0, 1) mean raw units.
    """

    def __init__(self, *, forcing: float = 8.0, learn_forcing: bool = False,
                 norm_mean: float = 0.0, norm_std: float = 1.0) -> None:
        super().__init__()
        if norm_std <= 0:
            raise ValueError(f"norm_std must be > 0, got {norm_std}")
        self.forcing = nn.Parameter(torch.tensor(float(forcing)), requires_grad=learn_forcing)
        self.norm_mean, self.norm_std = float(norm_mean), float(norm_std)
        self.config = {"forcing": forcing, "learn_forcing": learn_forcing}
        if (self.norm_mean, self.norm_std) != (0.0, 1.0):
            self.config.update(norm_mean=self.norm_mean, norm_std=self.norm_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (self.norm_mean, self.norm_std) != (0.0, 1.0):
            return self._raw(x * self.norm_std + self.norm_mean) / self.norm_std
        return self._raw(x)

    def _raw(self, x: torch.Tensor) -> torch.Tensor:
        xp1 = torch.roll(x, -1, dims=-1)
        xm1 = torch.roll(x, 1, dims=-1)
        xm2 = torch.roll(x, 2, dims=-1)
        return (xp1 - xm2) * xm1 - x + self.forcing


class BilinearODE(nn.Module):
    """Learnable bilinear tendency f(x) = A ∗ x + (B ∗ x) ⊙ (C ∗ x) + b.

    A, B, C are cyclic 1-D convolutions along the last dim (local, translation-equivariant
    couplings, the structure of Lorenz-96 and of advection terms). With ``stencil=5`` it can
    represent Lorenz-96 exactly.
    """

    def __init__(self, *, channels: int = 1, rank: int = 4, stencil: int = 5) -> None:
        super().__init__()
        if stencil % 2 != 1:
            raise ValueError(f"stencil must be odd, got {stencil}")
        self.pad = stencil // 2
        self.lin = nn.Conv1d(channels, channels, stencil, bias=True)
        self.b1 = nn.Conv1d(channels, rank, stencil, bias=False)
        self.b2 = nn.Conv1d(channels, rank, stencil, bias=False)
        self.out = nn.Conv1d(rank, channels, 1, bias=False)
        for m in (self.lin, self.b1, self.b2, self.out):
            nn.init.normal_(m.weight, std=0.05)
        if self.lin.bias is not None:
            nn.init.zeros_(self.lin.bias)
        self.config = {"channels": channels, "rank": rank, "stencil": stencil}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3:
            raise ValueError(f"BilinearODE expects a 1-D state (N, C, sites), got shape {tuple(x.shape)}")
        zp = torch.nn.functional.pad(x, (self.pad, self.pad), mode="circular")
        return self.lin(zp) + self.out(self.b1(zp) * self.b2(zp))


ODES: dict[str, type[nn.Module]] = {"lorenz96": Lorenz96, "bilinear": BilinearODE}


def build_ode(config: dict) -> nn.Module:
    """Build an ODE right-hand side from ``{"type": name, **options}``."""
    cfg = dict(config)
    kind = cfg.pop("type", None)
    if kind not in ODES:
        raise unknown_choice("ODE", kind, list(ODES))
    return ODES[kind](**cfg)
