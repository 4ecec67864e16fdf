"""VarModel = prior Φ + variational cost U + solver, in one module."""
from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from varda.core.components import Component, FirstGuess, Prior, Solver
from varda.core.cost import VariationalCost
from varda.core.device import full_fp32
from varda.core.first_guess import FIRST_GUESSES, build_first_guess
from varda.core.priors import PRIORS, build_prior
from varda.core.serialization import save
from varda.core.solvers import SOLVERS, build_solver, solver_inputs


def _typed_config(module: Component, registry: Mapping[str, type]) -> dict:
    for name, cls in registry.items():
        if type(module) is cls:
            return {"type": name, **copy.deepcopy(module.config)}
    raise TypeError(f"{type(module).__name__} is not registered in {sorted(registry)}")


@dataclass(frozen=True)
class FillDefaults:
    """What a fill with this model does when the caller does not say (part of the model card).

    Attributes:
        keep_observed: return the observations bit-for-bit where observed (True), or the
            solver's estimate everywhere (False: it also denoises them).
    """

    keep_observed: bool = False


class VarModel(nn.Module):
    """A learned variational solver: x̂ = K solver iterations on U(x) = ‖x−y‖²_Ω + λρ(x−Φ(x)).

    Tensors are ``(B, C, *spatial)`` in normalised units; ``axes`` names the spatial axes.

    Args:
        prior, cost, solver: the three parts.
        axes: names of the spatial axes, e.g. ``("time", "site")``.
        patch_shape: the field size the model was trained on (the tile size for patch-wise fills).
        n_iter: default number of solver iterations.
        second_order: in training, differentiate through ∇ₓU (``create_graph=True``); if False
            the gradient fed to the solver is treated as data (cheaper, truncated backprop).
        norm_mean, norm_std: normalisation of raw units: z = (v − mean) / std.
        first_guess: optional learned first guess x₀ = G(y, Ω) (see
            :mod:`varda.core.first_guess`): where the solver starts when no ``x0`` is given.
            It is trained on its own (``fit(mode="first_guess")``) and held fixed (no
            gradient) while the prior and solver train; ``n_iter=0`` returns it unchanged.
        grad_iters: in training, differentiate only the last ``grad_iters`` of the K
            iterations (the first K − grad_iters run without a graph, as at inference, and
            their state is a constant): truncated backpropagation through the solver, so a
            solver can be trained at a large K for the cost of a small one. None: all.
        meta: free-form JSON-able metadata (model card, training summary).
    """

    def __init__(self, prior: Prior, cost: VariationalCost, solver: Solver, *,
                 axes: Sequence[str], patch_shape: Sequence[int], channels: int = 1,
                 n_iter: int = 10, second_order: bool = True, norm_mean: float = 0.0,
                 norm_std: float = 1.0, meta: "dict | None" = None,
                 grad_iters: "int | None" = None,
                 first_guess: "FirstGuess | None" = None) -> None:
        super().__init__()
        if grad_iters is not None and grad_iters < 1:
            raise ValueError(f"grad_iters must be >= 1 or None, got {grad_iters}")
        self.grad_iters = None if grad_iters is None else int(grad_iters)
        if len(axes) != len(patch_shape):
            raise ValueError(f"axes {tuple(axes)} and patch_shape {tuple(patch_shape)} differ in length")
        if norm_std <= 0:
            raise ValueError(f"norm_std must be > 0, got {norm_std}")
        self.prior, self.cost, self.solver = prior, cost, solver
        self.first_guess = first_guess
        self.axes = tuple(str(a) for a in axes)
        self.patch_shape = tuple(int(s) for s in patch_shape)
        self.channels = int(channels)
        self.n_iter = int(n_iter)
        self.second_order = bool(second_order)
        self.norm_mean, self.norm_std = float(norm_mean), float(norm_std)
        self.meta: dict = dict(meta or {})
        self.checkpoint_sha256: "str | None" = None  # set by varda.load
        self.checkpoint_path: "str | None" = None
        self._warn_if_physics_normalised()

    def set_normalization(self, mean: float, std: float) -> "VarModel":
        """Set the raw-unit normalisation z = (v − mean) / std used by reconstruct/fit."""
        if not std > 0:
            raise ValueError(f"std must be > 0, got {std}")
        self.norm_mean, self.norm_std = float(mean), float(std)
        self._warn_if_physics_normalised()
        return self

    def _warn_if_physics_normalised(self) -> None:
        units = getattr(self.prior, "set_units", None)
        if callable(units):                 # a physical prior that follows the normalisation
            units(self.norm_mean, self.norm_std)
        # the flow prior integrates its ODE on the model's working (normalised) state: right for
        # a learned ODE, wrong for the true Lorenz-96 equations unless mean 0 and std 1
        from varda.core.ode import Lorenz96
        ode = getattr(self.prior, "ode", None)
        if isinstance(ode, Lorenz96) and \
                (self.norm_mean, self.norm_std) != (ode.norm_mean, ode.norm_std):
            warnings.warn(
                f"the flow prior integrates the Lorenz-96 equations on the normalised state "
                f"(mean={self.norm_mean:g}, std={self.norm_std:g}), which is not Lorenz-96 "
                "physics; keep the normalisation at mean 0, std 1 for a physical ODE prior (or "
                "give the ODE the same norm_mean/norm_std)",
                UserWarning, stacklevel=3)

    # -- fill limits and defaults (typed; stored in the card's ``meta``, where cards written by
    # earlier versions keep them, so every card loads and fills as before) ------------------
    @property
    def n_iter_max(self) -> "int | None":
        """The largest number of solver iterations a fill may use (the K the model was trained
        or validated up to); ``None`` when the model does not say (no limit)."""
        value = self.meta.get("n_iter_max")
        return None if value is None else int(value)

    @n_iter_max.setter
    def n_iter_max(self, value: "int | None") -> None:
        if value is None:
            self.meta.pop("n_iter_max", None)
        else:
            self.meta["n_iter_max"] = int(value)

    @property
    def fill_defaults(self) -> "FillDefaults | None":
        """The fill's defaults this model states (``None``: it states none, so a fill uses
        :class:`FillDefaults`'s)."""
        value = self.meta.get("fill_defaults")
        return None if value is None else FillDefaults(
            keep_observed=bool(value.get("keep_observed", False)))

    @fill_defaults.setter
    def fill_defaults(self, value: "FillDefaults | None") -> None:
        if value is None:
            self.meta.pop("fill_defaults", None)
        else:
            self.meta["fill_defaults"] = {"keep_observed": bool(value.keep_observed)}

    # -- configuration -------------------------------------------------------------------
    @property
    def config(self) -> dict:
        """A JSON-able description from which :func:`build_model` rebuilds this model."""
        return {
            "prior": _typed_config(self.prior, PRIORS),
            "cost": dict(self.cost.config),
            "solver": _typed_config(self.solver, SOLVERS),
            "axes": list(self.axes), "patch_shape": list(self.patch_shape),
            "channels": self.channels, "n_iter": self.n_iter, "second_order": self.second_order,
            "grad_iters": self.grad_iters,
            "first_guess": (None if self.first_guess is None
                            else _typed_config(self.first_guess, FIRST_GUESSES)),
            "norm": {"mean": self.norm_mean, "std": self.norm_std},
            "meta": copy.deepcopy(self.meta),
        }

    @property
    def fixed_axes(self) -> tuple[bool, ...]:
        """Per model axis, True where the model cannot tile or pad the axis, so a field's
        length along it must equal the patch: the union of what the prior, the solver and the
        first guess say of themselves (periodic padding, an axis folded into channels, the
        state axes of an ODE-flow prior)."""
        nd = len(self.axes)
        out = [False] * nd
        for part in self._parts():
            out = [a or bool(b) for a, b in zip(out, part.fixed_axes(nd))]
        return tuple(out)

    @property
    def size_multiples(self) -> tuple[int, ...]:
        """Per model axis, the factor a patch length must be a multiple of: the least common
        multiple of what the prior, the solver and the first guess need (U-Net pooling,
        ConvLSTM coarsening)."""
        nd = len(self.axes)
        out = [1] * nd
        for part in self._parts():
            out = [math.lcm(a, int(b)) for a, b in zip(out, part.size_multiples(nd))]
        return tuple(out)

    def _parts(self) -> "list[Component]":
        return [self.prior, self.solver] + ([self.first_guess] if self.first_guess is not None else [])

    def normalize(self, v: torch.Tensor) -> torch.Tensor:
        return (v - self.norm_mean) / self.norm_std

    def denormalize(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.norm_std + self.norm_mean

    # -- the solver loop -----------------------------------------------------------------
    def _grad(self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor,
              create_graph: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """The solver's input at x and the per-sample cost U(x): ∇ₓU, or for a solver with
        ``split_grad`` the stack ``[∇data, ∇λρ, Ω]`` along channels (whose first two sum
        to ∇ₓU), with the prior residual x − Φ(x) appended for ``residual_input``."""
        with torch.enable_grad():
            xg = x if create_graph else x.detach().requires_grad_(True)
            n_in = solver_inputs(self.solver)
            if n_in > 1:
                phi = self.prior(xg)
                data, prior = self.cost.terms(xg, y, mask, phi)
                lam_prior = self.cost.lam * prior
                u = data + lam_prior
                (gp,) = torch.autograd.grad(lam_prior.sum(), xg, create_graph=create_graph)
                parts = [self.cost.data_grad(xg, y, mask), gp, mask.to(gp.dtype).expand_as(gp)]
                if n_in > 3:
                    parts.append(xg - phi)
                if not create_graph:
                    parts = [t.detach() for t in parts]
                g = torch.cat(parts, dim=1)
            else:
                u = self.cost(xg, y, mask, self.prior(xg))
                (g,) = torch.autograd.grad(u.sum(), xg, create_graph=create_graph)
        return g, u.detach()

    def forward(self, y: torch.Tensor, mask: torch.Tensor, *, x0: "torch.Tensor | None" = None,
                n_iter: "int | None" = None, truth: "torch.Tensor | None" = None,
                return_trajectory: bool = False):
        """Reconstruct from observations.

        Args:
            y: observations ``(B, C, *spatial)``; values where ``mask`` is 0 are ignored (NaN ok).
            mask: Ω, 1/True where observed.
            x0: initial state (default: the learned first guess G(y, Ω) if the model has
                one, else y with zeros in the gaps, i.e. the normalised mean).
            n_iter: solver iterations (default ``self.n_iter``).
            truth: the true state, only to record the error trajectory.
            return_trajectory: also return ``{"U": [...], "error": [...]}`` per iteration
                (K + 1 values: the initial state and after each iteration).

        Returns:
            x̂, or ``(x̂, trajectory)``.

        In ``train()`` mode with grad enabled the graph over the iterations is kept for
        backpropagation; otherwise each iteration is detached, so memory does not grow with K.
        """
        mask = mask.to(dtype=y.dtype)
        y = torch.where(mask > 0, y, torch.zeros_like(y))
        k_iter = self.n_iter if n_iter is None else int(n_iter)
        training = self.training and torch.is_grad_enabled()
        create_graph = training and self.second_order
        # truncated unroll: only the last grad_iters iterations are differentiated in training
        n_free = max(0, k_iter - self.grad_iters) if (training and self.grad_iters) else 0
        if x0 is None and self.first_guess is not None:
            with torch.no_grad():
                x0 = self.first_guess(y, mask)
        x = (y.clone() if x0 is None else x0.to(y)).detach()
        if create_graph and n_free == 0:
            x.requires_grad_(True)
        traj: dict[str, list[float]] = {"U": [], "error": []}
        state = None
        for i in range(k_iter):
            live = training and i >= n_free
            if live and i == n_free and n_free > 0:
                x, state = x.detach(), _detach(state)
                if create_graph:
                    x.requires_grad_(True)
            g, u = self._grad(x, y, mask, create_graph and live)
            if return_trajectory:
                traj["U"].append(float(u.mean()))
                if truth is not None:
                    traj["error"].append(float(((x.detach() - truth) ** 2).mean()))
            if live:
                if state is None:
                    state = self.solver.init_state(x, g, n_iter=k_iter)
                x, state = self.solver.step(x, g, state)
            else:
                with torch.no_grad():
                    if state is None:
                        state = self.solver.init_state(x, g, n_iter=k_iter)
                    x, state = self.solver.step(x.detach(), g, state)
        if return_trajectory:
            _, u = self._grad(x.detach(), y, mask, False)
            traj["U"].append(float(u.mean()))
            if truth is not None:
                traj["error"].append(float(((x.detach() - truth) ** 2).mean()))
            return x, traj
        return x

    @torch.no_grad()
    def reconstruct(self, y: torch.Tensor, mask: torch.Tensor, *,
                    n_iter: "int | None" = None) -> torch.Tensor:
        """Inference in raw units: normalise, solve (eval mode, no graph kept), de-normalise.

        On a GPU the convolutions run in full float32 (no TF32, see
        :func:`varda.core.device.full_fp32`), so that a fill matches the CPU's."""
        was_training = self.training
        self.eval()
        try:
            with full_fp32():
                z = self(self.normalize(y), mask, n_iter=n_iter)
        finally:
            self.train(was_training)
        return self.denormalize(z)

    def save(self, path, **kwargs) -> Any:
        """Write safetensors weights + JSON config; see :func:`varda.core.serialization.save`."""
        return save(self, path, **kwargs)


def _detach(state: Any) -> Any:
    """Detach every tensor of a solver state (dicts, lists and tuples of tensors)."""
    if isinstance(state, torch.Tensor):
        return state.detach()
    if isinstance(state, dict):
        return {k: _detach(v) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(_detach(v) for v in state)
    return state


def build_model(config: dict) -> VarModel:
    """Rebuild a :class:`VarModel` (untrained weights) from its :attr:`VarModel.config`."""
    from varda.errors import ConfigError
    for key in ("prior", "solver", "axes", "patch_shape"):
        if key not in config:
            raise ConfigError(f"model config lacks {key!r}; it needs prior, cost, solver, axes, patch_shape")
    norm = config.get("norm", {})
    return VarModel(
        build_prior(config["prior"]), VariationalCost(**config.get("cost", {})),
        build_solver(config["solver"]), axes=config["axes"], patch_shape=config["patch_shape"],
        channels=config.get("channels", 1), n_iter=config.get("n_iter", 10),
        second_order=config.get("second_order", True), norm_mean=norm.get("mean", 0.0),
        norm_std=norm.get("std", 1.0), meta=config.get("meta"),
        grad_iters=config.get("grad_iters"),
        first_guess=build_first_guess(config.get("first_guess")))
