"""Model factories of the Lorenz-96 rows (configs for :func:`varda.core.build_model`)."""
from __future__ import annotations

from typing import Sequence

import torch

from experiments.l96.settings import AXES, PERIODIC
from varda.core.model import VarModel, build_model


def _lstm(hidden: int, layout: str = "fold", scale_by_iterations: bool = False,
          split_grad: bool = False, residual_input: bool = False,
          coarsen: "Sequence[int] | None" = None) -> dict:
    """ConvLSTM solver: ``layout="fold"`` runs a 1-D ConvLSTM over time with the 40 sites as
    channels (CPU-friendly); ``"2d"`` a 2-D ConvLSTM over (time, site), periodic in sites.
    ``coarsen`` (2-D only): per-axis factors of the grid the cell runs on, e.g. ``[2, 1]``
    for half the time resolution (:class:`varda.core.solvers.ConvLSTMSolver`)."""
    if layout == "fold":
        out = {"type": "lstm", "ndim": 1, "channels": 40, "hidden": hidden, "kernel": 3,
               "periodic": False}
    else:
        out = {"type": "lstm", "ndim": 2, "hidden": hidden, "kernel": 3, "periodic": PERIODIC}
    if scale_by_iterations:
        out["scale_by_iterations"] = True
    if split_grad:
        out["split_grad"] = True
    if residual_input:
        out["residual_input"] = True
    if coarsen is not None and any(int(f) != 1 for f in coarsen):
        if layout == "fold":
            raise ValueError("solver coarsening needs layout='2d'")
        out["coarsen"] = [int(f) for f in coarsen]
    return {"type": "fold", "axis": 1, "inner": out} if layout == "fold" else out


def rk4_model(solver: str = "fsgd", *, lam: float = 1.0, learn_lambda: bool = False,
              step: float = 0.05, hidden: int = 16, n_iter: int = 10,
              second_order: bool = False, layout: str = "fold", mean: float = 0.0,
              std: float = 1.0) -> VarModel:
    """RK4 flow prior with the true Lorenz-96 physics. With ``mean``/``std`` the model works in
    normalised units z = (x − mean)/std and the ODE is rewritten for z (same dynamics)."""
    ode = {"type": "lorenz96", "forcing": 8.0}
    if (mean, std) != (0.0, 1.0):
        ode.update(norm_mean=mean, norm_std=std)
    prior = {"type": "flow", "ode": ode, "dt": 0.05, "n_substeps": 1, "time_axis": 0}
    sol = {"type": "fsgd", "step": step} if solver == "fsgd" else _lstm(hidden, layout)
    return build_model({"prior": prior, "solver": sol, "axes": AXES, "patch_shape": [200, 40],
                        "cost": {"lambda_init": lam, "learn_lambda": learn_lambda},
                        "n_iter": n_iter, "second_order": second_order,
                        "norm": {"mean": mean, "std": std}})


def unet_model(*, hidden_prior: int = 16, hidden_solver: int = 16, n_iter: int = 10,
               second_order: bool = True, pool=(2, 1), lam: float = 1.0,
               mean: float = 0.0, std: float = 1.0, layout: str = "fold",
               depth: int = 1, scale_by_iterations: bool = False, kernel=3,
               blind: bool = False, split_grad: bool = False,
               residual_input: bool = False, first_guess: "dict | None" = None,
               solver_coarsen: "Sequence[int] | None" = None) -> VarModel:
    """Two-scale U-Net prior (bilinear units) + ConvLSTM solver.

    ``layout="fold"``: 1-D over time with the 40 sites as channels (``pool[0]`` is the time
    pooling); ``"2d"``: 2-D over (time, site), periodic in sites. ``first_guess``: options of
    a learned first guess (:class:`varda.core.first_guess.BiGRUSmoother`: ``hidden``,
    ``layers``, ``kernel``, ``chunk``) where the solver starts; None: y with zeros in the gaps.
    ``solver_coarsen``: the ConvLSTM's per-axis coarsening (2-D layout), e.g. ``[2, 1]``."""
    if layout == "fold":
        prior = {"type": "fold", "axis": 1, "inner": {
            "type": "unet", "ndim": 1, "channels": 40, "hidden": hidden_prior, "depth": depth,
            "kernel": 3, "pool": int(pool[0]), "periodic": False, "bilinear": True}}
    else:
        prior = {"type": "unet", "ndim": 2, "hidden": hidden_prior, "depth": depth,
                 "kernel": kernel if isinstance(kernel, int) else list(kernel),
                 "pool": list(pool), "periodic": PERIODIC, "bilinear": True}
        if blind:
            prior["blind"] = True
    return build_model({"prior": prior,
                        "solver": _lstm(hidden_solver, layout, scale_by_iterations, split_grad,
                                        residual_input, solver_coarsen),
                        "axes": AXES,
                        "patch_shape": [200, 40], "cost": {"lambda_init": lam},
                        "n_iter": n_iter, "second_order": second_order,
                        "norm": {"mean": mean, "std": std},
                        "first_guess": (None if first_guess is None else
                                        {"type": "bigru", "ndim": 2, "periodic": True,
                                         **first_guess})})


def bilinear_model(*, hidden: int = 16, n_iter: int = 10, second_order: bool = False,
                   rank: int = 4, mean: float = 0.0, std: float = 1.0,
                   lam: float = 1.0, layout: str = "fold", split_grad: bool = False) -> VarModel:
    """RK4 flow prior around a learned bilinear ODE (normalised units) + ConvLSTM solver
    (fed the split gradient ``[∇data, ∇λρ, Ω]`` with ``split_grad``)."""
    prior = {"type": "flow", "ode": {"type": "bilinear", "rank": rank, "stencil": 5},
             "dt": 0.05, "n_substeps": 1, "time_axis": 0}
    return build_model({"prior": prior, "solver": _lstm(hidden, layout, split_grad=split_grad),
                        "axes": AXES,
                        "patch_shape": [200, 40], "cost": {"lambda_init": lam},
                        "n_iter": n_iter, "second_order": second_order,
                        "norm": {"mean": mean, "std": std}})


def n_params(model: torch.nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))

