"""The interfaces of a model's parts. Each part describes itself: its JSON-able ``config``
(from which its registry rebuilds it), which spatial axes a field cannot be tiled along
(:meth:`Component.fixed_axes`), and for solvers which inputs they consume (:attr:`Solver.n_inputs`).
Layers above the core ask the parts, never read their configs."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn


class Component(nn.Module):
    """Base of priors, solvers and first guesses."""

    #: the options the part was built with (``{"type": name, **config}`` rebuilds it)
    config: dict
    @property
    def training_cost(self) -> float:
        """The cost of one training step with this part, relative to the reference model of
        the training budget's cost model (:mod:`varda.training.budget`: a linear EOF prior and
        a ConvLSTM solver); measured, see the parts that override it."""
        return 1.0

    def fixed_axes(self, ndim: int) -> tuple[bool, ...]:
        """Per spatial axis, True where a field cannot be tiled or padded along it, so its
        length must equal the model's patch (default: every axis tiles)."""
        return (False,) * ndim

    def size_multiples(self, ndim: int) -> tuple[int, ...]:
        """Per spatial axis, the factor a field's length must be a multiple of (pooling,
        coarsening; default 1: any length)."""
        return (1,) * ndim


class Folding:
    """Mixin of the parts that fold one spatial axis into the channels and run an ``inner``
    part on the others: they answer for the inner part on its axes, and the folded axis tiles
    freely (in patch-long tiles, whose points become the channels, e.g. 4DVarNet-style time
    windows slid over an archive)."""

    axis: int
    inner: Component

    @property
    def training_cost(self) -> float:
        """The inner part's relative training cost."""
        return self.inner.training_cost

    def fixed_axes(self, ndim: int) -> tuple[bool, ...]:
        """The inner part's fixed axes among the others; the folded axis is not fixed."""
        inner = list(self.inner.fixed_axes(ndim - 1))
        inner.insert(self.axis % ndim, False)
        return tuple(inner)

    def size_multiples(self, ndim: int) -> tuple[int, ...]:
        """The inner part's length multiples on the axes it sees; 1 on the folded one."""
        inner = list(self.inner.size_multiples(ndim - 1))
        inner.insert(self.axis % ndim, 1)
        return tuple(inner)


class Prior(Component):
    """A prior operator Φ: a state ``(B, C, *spatial)`` to a state of the same shape."""


class Solver(Component):
    """A gradient-based solver: one iteration maps ``(x, g, state)`` to ``(x', state')``."""

    @property
    def n_inputs(self) -> int:
        """Input groups the solver consumes along channels: 1 (∇ₓU), 3 (``[∇data, ∇prior,
        Ω]``) or 4 (the same and the prior residual)."""
        return 1

    def init_state(self, x: torch.Tensor, grad: torch.Tensor, n_iter: "int | None" = None) -> Any:
        """The solver's state before the first iteration."""
        raise NotImplementedError

    def step(self, x: torch.Tensor, grad: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """One iteration: the new state estimate and solver state."""
        raise NotImplementedError


class FirstGuess(Component):
    """A first guess x₀ = G(y, Ω) where the solver starts."""

    #: whether it is fitted on true states (``fit(mode="first_guess")``) before the solver
    needs_truth = True
