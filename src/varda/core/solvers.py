"""Gradient-based solvers: one iteration maps (x, ∇ₓU, state) to (x', state').

* :class:`FSGD`: fixed-step gradient descent (optionally a learned step).
* :class:`ConvLSTMSolver`: the learned solver g = LSTM(α∇ₓU, h, c); x ← x − H(g).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch import nn

from varda.core.components import Folding, Solver
from varda.core.fastmath import tanh, tanh_
from varda.core.nn import CONV, PaddedConv, as_tuple, fold_axis, unfold_axis
from varda.errors import unknown_choice


SPLIT_INPUTS = 3   # data-term gradient, prior-term gradient, Ω (``split_grad`` solvers)


def solver_inputs(solver: Solver) -> int:
    """Input groups ``solver`` consumes (its ``n_inputs``): 1 (∇ₓU), 3 (``[∇data, ∇prior, Ω]``)
    or 4 (the same and the prior residual x − Φ(x)); see :class:`ConvLSTMSolver`."""
    return solver.n_inputs


class FSGD(Solver):
    """x ← x − step · N · ∇ₓU, with N the number of points of one sample.

    U is normalised by point counts, so N·∇ₓU is the per-point gradient and ``step`` does not
    depend on the domain size.
    """

    def __init__(self, *, step: float = 0.1, learn_step: bool = False) -> None:
        super().__init__()
        if step <= 0:
            raise ValueError(f"step must be > 0, got {step}")
        self.log_step = nn.Parameter(torch.tensor(math.log(step)), requires_grad=learn_step)
        self.config = {"step": step, "learn_step": learn_step}

    def init_state(self, x: torch.Tensor, grad: torch.Tensor, n_iter: "int | None" = None) -> Any:
        return None

    def step(self, x: torch.Tensor, grad: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        n = x[0].numel()
        return x - self.log_step.exp() * n * grad, state


class ConvLSTMCell(nn.Module):
    """An n-d ConvLSTM cell with per-axis periodic padding."""

    def __init__(self, ndim: int, c_in: int, hidden: int, kernel, periodic) -> None:
        super().__init__()
        self.hidden = hidden
        self.gates = PaddedConv(ndim, c_in + hidden, 4 * hidden, kernel, periodic)

    def forward(self, inp: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        z = self.gates(torch.cat([inp, h], dim=1))
        if z.requires_grad:
            i, f, o, g = z.chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * tanh(g)
            h = torch.sigmoid(o) * tanh(c)
            return h, c
        # no graph (inference): the same values computed in place in the gate buffer, which
        # saves five fresh buffers of the state's size per iteration
        n = self.hidden
        z.narrow(1, 0, 3 * n).sigmoid_()
        i, f, o, g = z.chunk(4, dim=1)
        c = torch.mul(f, c).addcmul_(i, tanh_(g))
        h = tanh(c).mul_(o)
        return h, c


class ConvLSTMSolver(Solver):
    """Learned gradient solver: g = ConvLSTM(α ∇ₓU, h, c); x ← x − H(g).

    α is the inverse RMS of the first gradient of each sample (held for all iterations), so
    the LSTM sees unit-scale inputs whatever the field's units and cost weights.

    Args:
        ndim: number of spatial axes.
        channels: channels of the state.
        hidden: hidden channels of the ConvLSTM.
        kernel: odd kernel size (scalar or per axis).
        periodic: per-axis periodic padding.
        dropout: dropout on g before H (training only).
        scale_by_iterations: x ← x − H(g)/K for a run of K iterations (as the 4DVarNet
            reference code does): the K updates then sum like the steps of an ODE
            integration, so raising K in an iteration curriculum does not blow up the
            total correction.
        split_grad: feed the LSTM the two terms of ∇ₓU separately, plus Ω:
            ``[α ∇‖x − y‖²_Ω, α ∇λρ(x − Φ(x)), Ω]`` (3 × channels inputs; α is the inverse
            RMS of the first ∇ₓU, as without the split). Their sum is ∇ₓU; split,
            the solver can weigh data misfit against prior residual point by point and
            knows where the observations are once x fits them. The model computes these
            inputs when its solver has ``split_grad`` set (``VarModel._grad``).
        residual_input: with ``split_grad``, also feed the prior residual r = x − Φ(x) (the
            quantity U penalises; scaled by the inverse RMS of its first value).
        coarsen: per-axis factors (1 = full resolution): the ConvLSTM runs on the grid
            coarsened by them, each coarse cell's sub-positions folded into channels on the
            way in and unfolded on the way out (space-to-depth, lossless). The cell then runs
            on prod(coarsen) times fewer points (its input channels grow by that factor, its
            hidden channels do not), and each iteration carries information that much further
            along those axes. Axis lengths must be multiples of their factors.
    """

    def __init__(self, *, ndim: int, channels: int = 1, hidden: int = 32,
                 kernel: "int | Sequence[int]" = 3, periodic: "bool | Sequence[bool]" = False,
                 dropout: float = 0.0, scale_by_iterations: bool = False,
                 split_grad: bool = False, residual_input: bool = False,
                 coarsen: "int | Sequence[int]" = 1) -> None:
        super().__init__()
        if residual_input and not split_grad:
            raise ValueError("residual_input=True needs split_grad=True")
        self.scale_by_iterations = bool(scale_by_iterations)
        self.split_grad = bool(split_grad)
        self.residual_input = bool(residual_input)
        self.n_groups = (SPLIT_INPUTS + int(self.residual_input)) if self.split_grad else 1
        per = tuple(bool(p) for p in as_tuple(periodic, ndim, "periodic"))
        self.coarsen = tuple(int(f) for f in as_tuple(coarsen, ndim, "coarsen"))
        if any(f < 1 for f in self.coarsen):
            raise ValueError(f"coarsen factors must be >= 1, got {list(self.coarsen)}")
        self._n_sub = n_sub = math.prod(self.coarsen)
        n_in = channels * self.n_groups * n_sub
        self.cell = ConvLSTMCell(ndim, n_in, hidden, kernel, per)
        self.dropout = nn.Dropout(dropout)
        self.out = CONV[ndim](hidden, channels * n_sub, 1, bias=False)
        self.config = {"ndim": ndim, "channels": channels, "hidden": hidden,
                       "kernel": kernel if isinstance(kernel, int) else list(kernel),
                       "periodic": list(per), "dropout": dropout}
        if self.scale_by_iterations:
            self.config["scale_by_iterations"] = True
        if self.split_grad:
            self.config["split_grad"] = True
        if self.residual_input:
            self.config["residual_input"] = True
        if n_sub > 1:
            self.config["coarsen"] = list(self.coarsen)

    @property
    def n_inputs(self) -> int:
        """The number of input groups the solver consumes, 1 (∇ₓU), 3 (``[∇data, ∇prior, Ω]``, with
        ``split_grad``) or 4 (the same and the prior residual, with ``residual_input``)."""
        return self.n_groups

    def size_multiples(self, ndim: int) -> tuple[int, ...]:
        """Per spatial axis, the coarsening factor of the grid the cell runs on."""
        return self.coarsen

    def fixed_axes(self, ndim: int) -> tuple[bool, ...]:
        """Per spatial axis, whether fields cannot be tiled along it: the periodic axes (a
        tile's wrap-around padding would join its own edges, not the field's)."""
        return tuple(bool(p) for p in self.config["periodic"])

    def _coarse_size(self, size: Sequence[int]) -> list[int]:
        """The grid the cell runs on, for a field of spatial ``size``."""
        bad = [(i, n, f) for i, (n, f) in enumerate(zip(size, self.coarsen)) if n % f]
        if bad:
            i, n, f = bad[0]
            raise ValueError(f"spatial axis {i} has length {n}, not a multiple of the solver's "
                             f"coarsen factor {f}; use patch sizes divisible by "
                             f"coarsen={list(self.coarsen)}")
        return [n // f for n, f in zip(size, self.coarsen)]

    def _to_coarse(self, t: torch.Tensor) -> torch.Tensor:
        """(B, C, *S) → (B, C·prod(f), *S/f): each cell's sub-positions become channels."""
        if self._n_sub == 1:
            return t
        b, c, *size = t.shape
        coarse = self._coarse_size(size)
        split = [d for n, f in zip(size, self.coarsen) for d in (n // f, f)]
        nd = len(size)
        t = t.reshape(b, c, *split)
        order = [0, 1] + [3 + 2 * i for i in range(nd)] + [2 + 2 * i for i in range(nd)]
        return t.permute(order).reshape(b, c * self._n_sub, *coarse)

    def _to_fine(self, t: torch.Tensor) -> torch.Tensor:
        """The inverse of :meth:`_to_coarse`."""
        if self._n_sub == 1:
            return t
        b, cf, *size = t.shape
        nd = len(size)
        c = cf // self._n_sub
        t = t.reshape(b, c, *self.coarsen, *size)
        order = [0, 1] + [d for i in range(nd) for d in (2 + nd + i, 2 + i)]
        return t.permute(order).reshape(b, c, *(n * f for n, f in zip(size, self.coarsen)))

    def init_state(self, x: torch.Tensor, grad: torch.Tensor, n_iter: "int | None" = None) -> dict:
        if self.split_grad:
            # both gradient terms share α = 1 / RMS(∇ₓU) (their sum), so the solver sees their
            # relative size (hence λ); Ω is passed as is
            g = grad.detach().unflatten(1, (self.n_groups, -1))
            dims = tuple(range(1, g.ndim - 1))
            rms = (g[:, 0] + g[:, 1]).pow(2).mean(dims, keepdim=True).sqrt()
            alpha = torch.ones((g.shape[0], self.n_groups, *([1] * (g.ndim - 2))),
                               dtype=g.dtype, device=g.device)
            alpha[:, :SPLIT_INPUTS - 1] = (1.0 / (rms + 1e-12)).unsqueeze(1)
            if self.residual_input:
                r_rms = g[:, SPLIT_INPUTS].pow(2).mean(dims, keepdim=True).sqrt()
                alpha[:, SPLIT_INPUTS] = 1.0 / (r_rms + 1e-12)
            alpha = alpha.expand(*g.shape[:3], *([1] * (g.ndim - 3))).flatten(1, 2)
        else:
            dims = tuple(range(1, grad.ndim))
            rms = grad.detach().pow(2).mean(dims, keepdim=True).sqrt()
            alpha = 1.0 / (rms + 1e-12)
        shape = (x.shape[0], self.cell.hidden, *self._coarse_size(x.shape[2:]))
        zeros = torch.zeros(shape, dtype=x.dtype, device=x.device)
        scale = 1.0
        if self.scale_by_iterations:
            if n_iter is None:
                raise ValueError("this solver scales its updates by 1/K: pass n_iter to init_state")
            scale = 1.0 / max(int(n_iter), 1)
        return {"alpha": alpha, "h": zeros, "c": zeros, "scale": scale}

    def step(self, x: torch.Tensor, grad: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
        h, c = self.cell(self._to_coarse(state["alpha"] * grad), state["h"], state["c"])
        dx = self._to_fine(self.out(self.dropout(h)))
        scale = state.get("scale", 1.0)
        return x - scale * dx, {**state, "h": h, "c": c}


class FoldedSolver(Folding, Solver):
    """Run the solver ``inner`` with spatial axis ``axis`` folded into the channels
    (as :class:`varda.core.priors.fold.FoldedPrior` does for priors): ``(B, C, T, S)`` → ``(B, C·S, T)``."""

    inner: Solver

    def __init__(self, *, inner: dict, axis: int = -1) -> None:
        super().__init__()
        self.axis = int(axis)
        self.inner = build_solver(inner)
        self.config = {"inner": dict(inner), "axis": self.axis}

    @property
    def n_inputs(self) -> int:
        """Input groups of the inner solver."""
        return int(self.inner.n_inputs)

    def init_state(self, x: torch.Tensor, grad: torch.Tensor, n_iter: "int | None" = None) -> Any:
        return self.inner.init_state(fold_axis(x, self.axis), fold_axis(grad, self.axis),
                                     n_iter=n_iter)

    def step(self, x: torch.Tensor, grad: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        z, state = self.inner.step(fold_axis(x, self.axis), fold_axis(grad, self.axis), state)
        return unfold_axis(z, x.shape, self.axis), state


SOLVERS: dict[str, type[Solver]] = {"fsgd": FSGD, "lstm": ConvLSTMSolver, "fold": FoldedSolver}


def build_solver(config: dict) -> Solver:
    """Build a solver from ``{"type": name, **options}``; unknown names list the valid ones."""
    cfg = dict(config)
    kind = cfg.pop("type", None)
    if kind not in SOLVERS:
        raise unknown_choice("solver", kind, list(SOLVERS))
    return SOLVERS[kind](**cfg)
