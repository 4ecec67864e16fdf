"""Lorenz-96 Table 2 of Fablet et al. (ICASSP 2021), rebuilt and trained on CPU.

Rows (paper values in ``PAPER``):

* ``rk4_fsgd``       RK4 prior with the true physics + fixed-step gradient descent; λ, the step
                     and the number of iterations are chosen on the validation split.
* ``rk4_lstm``       RK4 prior with the true physics (frozen) + ConvLSTM solver (trained).
* ``unet_joint``     two-scale U-Net prior + ConvLSTM solver, trained jointly.
* ``fourdvar``       weak-constraint 4D-Var: the same cost with the true physics, minimised by
                     L-BFGS (λ continuation), no learning; λ chosen on validation.
* ``bilinear_joint`` a learned bilinear ODE inside the RK4 flow prior + ConvLSTM, joint.
* ``bilinear_4dvar`` the learned bilinear ODE (fitted to the training truths, no physics
                     given) inside weak-constraint 4D-Var, minimised by L-BFGS.
* ``unet_joint_shared`` the paper's variant: one mask pattern shared by all windows.

Everything here is importable (the recipe ``recipes/l96_table2.py`` is a thin CLI, and the
quick path :func:`run_quick` is what ``varda demo`` can call). All runs are seeded; scores
are R-score = MSE / mean(x²) of the training data (the paper's normalisation), MSE in raw
units and I-score (MSE on unobserved points / the same scale), all on the test split.
"""
from __future__ import annotations

import copy
import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from varda.core import distributed as ddp
from varda.core.cost import VariationalCost
from varda.core.model import VarModel, build_model
from varda.core.priors.flow import ODEFlowPrior
from varda.core.training import fit
from varda.datasets.lorenz96 import L96Benchmark, L96Split, make_l96_benchmark

PAPER = {"rk4_fsgd": 5.65e-2, "rk4_lstm": 4.46e-2, "unet_joint": 1.94e-2,
         "unet_joint_cold": 1.94e-2}
ROW_TITLES = {
    "rk4_fsgd": "RK4 prior (true physics) + FSGD",
    "rk4_lstm": "RK4 prior (true physics) + ConvLSTM solver (solver only)",
    "unet_joint": "Two-scale U-Net prior + ConvLSTM solver (joint), from a learned first guess",
    "unet_joint_cold": "Two-scale U-Net prior + ConvLSTM solver (joint), cold start (no first guess)",
    "fourdvar": "Weak-constraint 4D-Var, true physics, L-BFGS (no learning)",
    "bilinear_joint": "Learned bilinear ODE in RK4 prior + ConvLSTM (joint)",
    "bilinear_4dvar": "Learned bilinear ODE (fitted to truths) + weak-constraint 4D-Var (L-BFGS)",
    "unet_joint_shared": "U-Net joint, shared-mask variant (train+test on one mask pattern)",
}
ROWS = tuple(ROW_TITLES)

# data sizes: "full" is the paper's protocol; the others are for the quick path and tests
SIZES = {
    "full": dict(n_train=2000, n_val=200, n_test=256),
    "quick": dict(n_train=200, n_val=40, n_test=64),
    "tiny": dict(n_train=24, n_val=8, n_test=8),
}

# per-row training settings for each size; max_time in seconds of training wall time
SETTINGS: dict[str, dict[str, dict]] = {
    "full": {
        "rk4_fsgd": dict(lams=[100.0, 300.0], step_fracs=[0.9, 1.3], k_max=3000, n_val=16),
        # λ grid: a first grid 1e3…5e3 chose its edge (val R 1.29e-2 → 0.99e-2, test 1.54e-2;
        # results/l96_logs/session3/fourdvar_s3_grid1_stopped.log), hence this one
        "fourdvar": dict(lams=[2000.0, 5000.0, 10000.0, 20000.0], n_iter=3000, n_val=16,
                         chunk=16),
        "bilinear_4dvar": dict(lams=[2000.0, 5000.0, 10000.0, 20000.0], n_iter=3000, n_val=16,
                               chunk=16, prior_budget=60),
        "rk4_lstm": dict(hidden=64, n_iter=12, epochs=1000, batch_size=32, lr=3e-3, lam=3.0,
                         max_time=1500, second_order=True, crop=40),
        # row 3 without a first guess (session 4's shipped model, `I1`; docs/l96.md: the
        # variants tried and what each choice bought): 2-D (site-equivariant) U-Net with a
        # blind spot (hidden 8), pre-trained on the truths as a predictor, λ from Bayes, + 2-D
        # ConvLSTM solver fed the split gradient [∇data, ∇prior, Ω], trained up to K = 24 with
        # backprop through the last 10 iterations; inference K chosen on validation among
        # 18–24 (the fill-time budget). Chosen in session 4 by the mean validation R over
        # training seeds (K ≤ 24: 2.92e-2 over 2 seeds; K ≤ 32: 3.23e-2 over 3), then the
        # seed: 1 (val 2.89e-2; seed 0: 2.95e-2)
        "unet_joint_cold": dict(layout="2d", hidden_prior=8, hidden_solver=8, depth=0,
                                prior_kernel=[3, 5], blind=True, prior_budget=60,
                                lambda_from_prior=True, split_grad=True, n_iter=24, grad_iters=10,
                                k_levels=[2, 4, 6, 8, 10, 13, 16, 20, 24],
                                ramp=[0.06, 0.12, 0.19, 0.27, 0.35, 0.44, 0.54, 0.66],
                                test_iters=[18, 20, 22, 24], train_seed=1,
                                lr=5e-3, lr_decay_start=0.7, lr_final=5e-4, batch_size=32,
                                steps_per_epoch=100, val_windows=64, crop=40, max_time=1620,
                                epochs=100000, second_order=True),
        # learned bilinear ODE fitted to the truths (60 s), then joint with a 2-D ConvLSTM fed
        # the split gradient (session 4; session 2 fed α∇ₓU: test R 4.03e-2 → 3.67e-2),
        # trained at K = 16 with backprop through the last 6 iterations
        "bilinear_joint": dict(layout="2d", hidden=8, lam=3.0, second_order=True, n_iter=16,
                               split_grad=True,
                               grad_iters=6, k_levels=[2, 4, 8, 16], ramp=[0.08, 0.18, 0.35],
                               lr=5e-3, lr_decay_start=0.5, lr_final=5e-4, batch_size=32,
                               steps_per_epoch=100, val_windows=64, crop=40, prior_budget=60,
                               max_time=1620, epochs=100000, loss_weights=(1.0, 0.05, 0.05)),
    },
    "quick": {
        "rk4_fsgd": dict(lams=[10.0, 100.0], step_fracs=[0.9], k_max=300, n_val=8),
        "fourdvar": dict(lams=[1000.0], n_iter=150, n_val=8, chunk=16),
        "bilinear_4dvar": dict(lams=[1000.0], n_iter=150, n_val=8, chunk=16, prior_budget=4),
        "rk4_lstm": dict(hidden=32, n_iter=8, epochs=100, batch_size=32, lr=3e-3, lam=3.0,
                         max_time=20, second_order=True, crop=40),
        "unet_joint": dict(layout="2d", hidden_prior=16, hidden_solver=8, depth=0,
                           prior_kernel=[3, 5], blind=True, prior_budget=4,
                           first_guess=dict(hidden=8, layers=1, kernel=5, chunk=4), fg_budget=6,
                           fg_options=dict(val_windows=16, steps_per_epoch=20),
                           lambda_from_prior=True, split_grad=True, n_iter=4, k_levels=[2, 4], ramp=[0.4],
                           lr=5e-3, batch_size=32, steps_per_epoch=10, val_windows=16, crop=40,
                           max_time=12, epochs=1000, second_order=True),
        "bilinear_joint": dict(layout="2d", hidden=8, lam=3.0, second_order=True, n_iter=4,
                               split_grad=True,
                               k_levels=[2, 4], ramp=[0.4], lr=5e-3, batch_size=32,
                               steps_per_epoch=10, val_windows=16, crop=40, prior_budget=4,
                               max_time=12, epochs=1000, loss_weights=(1.0, 0.05, 0.05)),
    },
    "tiny": {
        "rk4_fsgd": dict(lams=[1.0], step_fracs=[0.9], k_max=20, n_val=4),
        "fourdvar": dict(lams=[100.0], n_iter=10, n_val=4, chunk=8),
        "bilinear_4dvar": dict(lams=[100.0], n_iter=10, n_val=4, chunk=8, prior_budget=1),
        "rk4_lstm": dict(hidden=4, n_iter=2, epochs=1, batch_size=8, lr=3e-3, lam=3.0,
                         max_time=5, second_order=True, crop=40),
        "unet_joint": dict(layout="2d", hidden_prior=4, hidden_solver=4, depth=0,
                           prior_kernel=[3, 5], blind=True, prior_budget=1,
                           lambda_from_prior=True, split_grad=True, n_iter=2, epochs=1, batch_size=8,
                           steps_per_epoch=2, lr=3e-3, max_time=5, second_order=True, crop=40),
        "bilinear_joint": dict(layout="2d", hidden=4, n_iter=2, epochs=1, batch_size=8, lr=3e-3,
                               steps_per_epoch=2, max_time=5, second_order=True, grad_iters=1,
                               prior_budget=1, loss_weights=(1.0, 0.05, 0.05)),
    },
}

# row 3 (the shipped l96-unet-joint, session 6's run X6): the same prior and solver started
# from a learned first guess, a bidirectional ConvGRU smoother (hidden 32, 2 layers, blocks of
# 4 steps) trained alone for 800 s first (session 5); then the joint training (820 s) runs up
# to K = 36 from its output on 100-step crops (session 6: 40-step crops have edges that
# 200-step windows do not; batches of 13 keep the points per batch); inference K chosen on
# validation among 28, 32, 36 (the fill budget). docs/l96.md, "Session 6". Session 8: the
# ConvLSTM runs at half the time resolution (solver_coarsen; a fill at equal K costs 0.86×),
# so the fill budget allows K = 36 or 40 (chosen on validation); docs/l96.md, "Session 8"
SETTINGS["full"]["unet_joint"] = {
    **SETTINGS["full"]["unet_joint_cold"],
    "first_guess": dict(hidden=32, layers=2, kernel=5, chunk=4), "fg_budget": 800,
    "fg_options": dict(lr=6e-3), "n_iter": 36, "crop": 100, "batch_size": 13,
    "k_levels": [2, 4, 6, 8, 12, 16, 20, 24, 28, 32, 36],
    "ramp": [0.04, 0.08, 0.13, 0.19, 0.26, 0.34, 0.42, 0.5, 0.58, 0.66],
    "solver_coarsen": [2, 1], "test_iters": [36, 40], "max_time": 820, "train_seed": 2}
for _size in ("quick", "tiny"):     # small sizes: the cold row is the row without its first guess
    SETTINGS[_size]["unet_joint_cold"] = {
        k: v for k, v in SETTINGS[_size]["unet_joint"].items()
        if k not in ("first_guess", "fg_budget", "fg_options")}

# the paper's shared-mask variant trains exactly like the independent-mask row
for _size in SETTINGS.values():
    _size["unet_joint_shared"] = dict(_size["unet_joint"])

AXES = ("time", "site")
PERIODIC = [False, True]          # time is not periodic, the 40 sites are


# ---------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------
def load_benchmark(size: str = "full", *, shared_mask: bool = False, seed: int = 0,
                   cache: bool = True) -> L96Benchmark:
    """The benchmark at one of :data:`SIZES` (``full`` = the paper's protocol), with a
    validation split carved from the end of the training part."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}")
    return make_l96_benchmark(**SIZES[size], shared_mask=shared_mask, seed=seed, cache=cache)


def tensors(split: L96Split) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x, y, mask) as ``(N, 1, time, site)`` float tensors (y is 0 where unobserved)."""
    m = torch.from_numpy(np.ascontiguousarray(split.mask)).float()[:, None]
    y = torch.nan_to_num(torch.from_numpy(np.ascontiguousarray(split.y)))[:, None] * m
    x = torch.from_numpy(np.ascontiguousarray(split.x))[:, None]
    return x, y, m


def scores(x_hat: "np.ndarray | torch.Tensor", split: L96Split, scale: float) -> dict:
    """R-score, raw MSE and I-score of a reconstruction ``(N, time, site)`` of ``split``."""
    xh = torch.as_tensor(x_hat, dtype=torch.float64).reshape(split.x.shape).numpy()
    err2 = (xh - split.x.astype(np.float64)) ** 2
    mse = float(err2.mean())
    gaps = ~split.mask
    return {"r_score": mse / scale, "mse": mse, "i_score": float(err2[gaps].mean()) / scale,
            "rmse": math.sqrt(mse), "n_windows": int(len(split))}


@torch.no_grad()
def reconstruct(model: VarModel, split: L96Split, *, n_iter: "int | None" = None,
                batch_size: int = 8) -> np.ndarray:
    """Fill ``split`` with ``model`` (raw units) in batches; returns ``(N, time, site)``."""
    _, y, m = tensors(split)
    model.eval()
    out = [model.reconstruct(y[s:s + batch_size], m[s:s + batch_size], n_iter=n_iter)
           for s in range(0, len(y), batch_size)]
    return torch.cat(out)[:, 0].numpy()


def evaluate(model: VarModel, split: L96Split, scale: float, *, n_iter: "int | None" = None,
             batch_size: int = 8) -> dict:
    t0 = time.perf_counter()
    xh = reconstruct(model, split, n_iter=n_iter, batch_size=batch_size)
    out = scores(xh, split, scale)
    out["eval_time_s"] = round(time.perf_counter() - t0, 3)
    out["n_iter"] = int(model.n_iter if n_iter is None else n_iter)
    return out


# ---------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------
# row 1: FSGD with tuned λ / step / K (validation only)
# ---------------------------------------------------------------------------------------
@torch.no_grad()
def _fsgd_errors(model: VarModel, split: L96Split, k_max: int) -> list[float]:
    x, y, m = tensors(split)
    _, traj = model(y, m, n_iter=k_max, truth=x, return_trajectory=True)
    return traj["error"]


def tune_fsgd(bench: L96Benchmark, *, lams, step_fracs, k_max: int, n_val: int,
              log: Callable[[str], None] = print) -> dict:
    """Grid over λ and the step (a fraction of 1/L with L ≈ 16 + 8λ the Lipschitz constant of
    N·∇U; measured: 0.9 is stable, 1.8 diverges) on validation;
    the iteration count is the best one on validation along each run."""
    val = bench.val.subset(slice(0, n_val))
    best = None
    grid = []
    for lam in lams:
        for frac in step_fracs:
            step = frac / (16.0 + 8.0 * lam)
            model = rk4_model("fsgd", lam=lam, step=step)
            errs = _fsgd_errors(model, val, k_max)
            k = int(np.argmin(errs))
            r = errs[k] / bench.scale
            grid.append({"lambda": lam, "step": step, "best_k": k, "val_r": r,
                         "val_r_at_kmax": errs[-1] / bench.scale})
            log(f"  fsgd λ={lam:g} step={step:.4g}: best K={k} val R={r:.4g} "
                f"(K={k_max}: {errs[-1] / bench.scale:.4g})")
            if best is None or r < best["val_r"]:
                best = grid[-1]
    return {"best": best, "grid": grid}


# ---------------------------------------------------------------------------------------
# row 4a: weak-constraint 4D-Var, L-BFGS with λ continuation
# ---------------------------------------------------------------------------------------
def fourdvar(y: torch.Tensor, mask: torch.Tensor, *, lam: float, n_iter: int = 400,
             x0: "torch.Tensor | None" = None, fill: float = 0.0,
             stages: int = 3, prior: "torch.nn.Module | None" = None) -> torch.Tensor:
    """Minimise U(x) = mean_Ω(x−y)² + λ mean(x − RK4(x))² with L-BFGS, in ``stages`` stages of
    λ·10^-(stages-1) … λ (continuation: the small-λ stages are well conditioned).

    ``prior``: Φ (default: the RK4 flow of the true Lorenz-96 equations, raw units); a
    learned prior works in its model's normalised units (see :func:`run_fourdvar`)."""
    if prior is None:
        prior = ODEFlowPrior(ode={"type": "lorenz96", "forcing": 8.0}, dt=0.05, n_substeps=1)
    if x0 is None:
        x0 = torch.where(mask > 0, y, torch.full_like(y, fill))
    x = x0.detach().clone().requires_grad_(True)
    n_point = x[0].numel()
    per_stage = max(1, n_iter // stages)
    for s in range(stages):
        lam_s = lam * 10.0 ** (s - (stages - 1))
        cost = VariationalCost(lambda_init=lam_s, learn_lambda=False)
        opt = torch.optim.LBFGS([x], lr=1.0, max_iter=per_stage, history_size=20,
                                line_search_fn="strong_wolfe", tolerance_grad=1e-10,
                                tolerance_change=1e-14)

        def closure():
            opt.zero_grad()
            u = cost(x, y, mask, prior(x)).sum() * n_point
            u.backward()
            return u

        opt.step(closure)
    return x.detach()


def run_fourdvar(split: L96Split, *, lam: float, n_iter: int, chunk: int, fill: float,
                 model: "VarModel | None" = None) -> np.ndarray:
    """4D-Var on every window of ``split`` (raw units out). With ``model``, its prior and its
    normalisation are used (gaps start at the normalised mean) and its weights are frozen."""
    _, y, m = tensors(split)
    prior = None
    if model is not None:
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        y, fill, prior = model.normalize(y) * m, 0.0, model.prior
    out = [fourdvar(y[s:s + chunk], m[s:s + chunk], lam=lam, n_iter=n_iter, fill=fill,
                    prior=prior) for s in range(0, len(y), chunk)]
    xh = torch.cat(out)
    if model is not None:
        xh = model.denormalize(xh)
    return xh[:, 0].numpy()


# ---------------------------------------------------------------------------------------
# training rows
# ---------------------------------------------------------------------------------------
def time_crops(t: torch.Tensor, crop: int) -> torch.Tensor:
    """``(N, C, T, S)`` → ``(N·(T // crop), C, crop, S)``: non-overlapping crops along time."""
    n, c, nt, s = t.shape
    k = nt // crop
    if k < 1:
        raise ValueError(f"crop {crop} is longer than the windows ({nt})")
    return (t[:, :, :k * crop].reshape(n, c, k, crop, s).permute(0, 2, 1, 3, 4)
            .reshape(n * k, c, crop, s).contiguous())


def overlapping_crops(t: torch.Tensor, crop: int, stride: int) -> torch.Tensor:
    """``(N, C, T, S)`` → ``(N·n, C, crop, S)``: crops of ``crop`` steps every ``stride``,
    ordered by start then window (the sample order the session-5 runs were trained with, so
    their recorded commands rebuild the same models; :func:`time_crops` orders by window)."""
    if t.shape[2] < crop:
        raise ValueError(f"crop {crop} is longer than the windows ({t.shape[2]})")
    starts = range(0, t.shape[2] - crop + 1, stride)
    return torch.cat([t[:, :, s:s + crop] for s in starts]).contiguous()


def curriculum_levels(k: int) -> list[int]:
    """Iteration levels of the curriculum: K/4, K/2, K (at least 1, distinct)."""
    return sorted({max(1, k // 4), max(1, k // 2), k})


def _train(model: VarModel, bench: L96Benchmark, *, mode: str, epochs: int, batch_size: int,
           lr: float, max_time: float, n_iter: int, seed: int, progress: bool,
           loss_weights=(1.0, 0.05, 0.05), ramp=(0.1, 0.3), crop: int = 0,
           k_levels=None, steps_per_epoch: "int | None" = None,
           lr_final: "float | None" = None, lr_decay_start: float = 0.0, val_windows: "int | None" = None,
           ema: "float | None" = None, log: Callable[[str], None] = print) -> dict:
    """Train with :func:`varda.core.training.fit` and a *time-based* iteration curriculum:
    K/4 for the first ``ramp[0]`` of ``max_time``, K/2 until ``ramp[1]``, then K (the
    schedule dict is extended from fit's per-epoch callback, so the ramp adapts to the
    machine's speed and load).

    ``crop`` > 0 trains on non-overlapping time crops of that length cut from the training
    windows (the networks are convolutional in time, so they apply to 200-step windows
    unchanged; validation and test always use full windows): several times more updates per
    second of CPU for the same data.

    ``steps_per_epoch``: an "epoch" is that many random batches (validation, model
    selection and the curriculum then act every few seconds rather than once per pass over
    the data); ``lr_final``: cosine decay of the learning rate to that value over the run
    (after ``lr_decay_start`` of it);
    ``val_windows``: validate on the first that many validation windows only; ``ema``: select
    and return an exponential moving average of the weights (``fit(ema=)``)."""
    x, y, m = tensors(bench.train)
    x0 = first_guesses(model, bench.train) if getattr(model, "first_guess", None) else None
    if crop:
        x, y, m = (time_crops(t, crop) for t in (x, y, m))
        x0 = None if x0 is None else time_crops(x0, crop)
    val = tensors(bench.val if val_windows is None else bench.val.subset(slice(0, val_windows)))
    levels = list(k_levels) if k_levels else curriculum_levels(n_iter)
    ramp = tuple(ramp)[:len(levels) - 1]
    if len(ramp) < len(levels) - 1:
        raise ValueError(f"ramp needs {len(levels) - 1} fractions for levels {levels}, got {ramp}")

    def level_at(frac: float) -> int:
        return levels[sum(1 for r in ramp if frac >= r)]

    sched: dict[int, int] = {0: level_at(0.0)}

    def cb(e: dict) -> None:
        lv = level_at(e["time_s"] / max(max_time, 1e-9))
        if lv != sched[max(sched)]:
            sched[e["epoch"]] = lv     # fit reads the schedule at the start of each epoch
        log(f"  epoch {e['epoch']} K={e['n_iter']} loss={e['train_loss']:.4g} "
            f"val_mse(norm)={e['val_mse']:.4g} λ={e['lambda']:.3g} t={e['time_s']:.0f}s")

    t0 = time.perf_counter()
    hist = fit(model, x, y, m, val=val, epochs=epochs, batch_size=batch_size, lr=lr,
               mode=mode, n_iter_schedule=sched, loss_weights=loss_weights, seed=seed,
               device="cpu", progress=progress, max_time=max_time, callback=cb,
               steps_per_epoch=steps_per_epoch, lr_final=lr_final,
               lr_decay_start=lr_decay_start, x0=x0, distributed=_parallel(),
               val_batch_size=VAL_BATCH, ema=ema)
    wall = time.perf_counter() - t0
    return {"train_wall_s": round(wall, 1), "epochs_run": len(hist), "schedule": dict(sched),
            "history": hist}


def pretrain_prior_dae(model: VarModel, bench: L96Benchmark, *, budget: float,
                       sigma_max: float = 1.0, crop: int = 40, batch_size: int = 32,
                       lr: float = 3e-3, seed: int = 0,
                       log: Callable[[str], None] = print) -> dict:
    """Pre-train the prior Φ as a denoising auto-encoder on the training truths (normalised):
    Φ(x + σε) ≈ x with σ ~ U(0, ``sigma_max``) per sample, for ``budget`` seconds.

    A denoiser's residual x − Φ(x) approximates σ²·(−∇log p(x)) (Tweedie / denoising score
    matching), so λ‖x − Φ(x)‖² is an informative prior from the first joint step, and unlike
    ‖x − Φ(x)‖² on clean states alone it cannot be solved by Φ = identity. Costs one
    prior forward/backward per sample (no solver loop): cheap on CPU."""
    gen = torch.Generator().manual_seed(seed + 7)
    x = model.normalize(tensors(bench.train)[0])
    if crop:
        x = time_crops(x, crop)
    opt = torch.optim.Adam(model.prior.parameters(), lr=lr)
    model.train()
    t0 = time.perf_counter()
    steps, run = 0, 0.0
    while time.perf_counter() - t0 < budget:
        idx = torch.randint(0, len(x), (batch_size,), generator=gen)
        xb = x[idx]
        sig = torch.rand(batch_size, 1, 1, 1, generator=gen) * sigma_max
        noisy = xb + sig * torch.randn(xb.shape, generator=gen)
        loss = ((model.prior(noisy) - xb) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        steps += 1
        run = 0.98 * run + 0.02 * loss.item() if steps > 1 else loss.item()
        if steps % 200 == 0:
            log(f"  dae step {steps} loss {run:.4g} t={time.perf_counter() - t0:.0f}s")
    with torch.no_grad():
        xv = model.normalize(tensors(bench.val)[0])
        ident = float(((model.prior(xv) - xv) ** 2).mean())
    return {"steps": steps, "wall_s": round(time.perf_counter() - t0, 1), "final_loss": run,
            "val_clean_residual": ident}


# windows per validation call in training (and the default of reconstruct/evaluate) on CPU:
# 200 × 40 windows run 1.4–2.5× faster per window in calls of 8 than of 32–64 (the
# activations stay in cache)
VAL_BATCH = 8


def _parallel() -> bool:
    """Whether this process is one rank of several (:func:`run_row_parallel`): every
    training stage then runs data-parallel (``fit(distributed=True)``)."""
    return ddp.world()[1] > 1


def run_row_parallel(row: str, *, workers: int, **kwargs) -> dict:
    """:func:`run_row` with its training data-parallel on ``workers`` local processes of one
    torch thread each (:func:`varda.core.distributed.spawn`): on a 2-core CPU, two ranks train
    about twice the samples per second of one process. Rank 0 logs, evaluates and saves;
    returns its result dict (without the model). ``kwargs`` must be picklable (no ``log`` or
    ``bench``: each rank loads the benchmark from its cache)."""
    import tempfile
    bad = sorted(set(kwargs) & {"log", "bench"})
    if bad:
        raise ValueError(f"run_row_parallel cannot pass {bad} to its processes; drop them")
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "row.json"
        ddp.spawn(_row_rank, workers, row, kwargs, str(out))
        return json.loads(out.read_text())


def _row_rank(rank: int, row: str, kwargs: dict, out: str) -> None:
    log = (lambda s: print(s, flush=True)) if rank == 0 else (lambda s: None)
    res = run_row(row, log=log, **kwargs)
    if rank == 0:
        Path(out).write_text(json.dumps(strip(res), default=_jsonable))


def first_guesses(model: VarModel, split: L96Split) -> torch.Tensor:
    """The model's first guess (its output at K = 0) on the full windows of ``split``, raw
    units ``(N, 1, T, S)``: computed once on whole windows, then cropped with the training
    data, so the training crops start from what the model starts from at inference."""
    return torch.from_numpy(reconstruct(model, split, n_iter=0))[:, None]


def train_first_guess(model: VarModel, bench: L96Benchmark, *, budget: float, crop: int = 100,
                      stride: int = 20, batch_size: int = 32, lr: float = 3e-3,
                      lr_final: float = 3e-4, lr_decay_start: float = 0.7, seed: int = 0,
                      val_windows: int = 64, steps_per_epoch: int = 100, log: Callable[[str], None] = print) -> dict:
    """Train the model's learned first guess G(y, Ω) alone on the truths (``fit`` in mode
    ``"first_guess"``) for ``budget`` seconds, on overlapping time crops of the training
    windows (``stride`` a multiple of the observation cadence keeps the sampling phase)."""
    x, y, m = (overlapping_crops(t, crop, stride) for t in tensors(bench.train))
    val = tensors(bench.val.subset(slice(0, val_windows)))
    t0 = time.perf_counter()

    def cb(e: dict) -> None:
        log(f"  first guess epoch {e['epoch']} loss={e['train_loss']:.4g} "
            f"val R={e['val_mse'] * model.norm_std ** 2 / bench.scale:.4g} t={e['time_s']:.0f}s")

    hist = fit(model, x, y, m, val=val, mode="first_guess", epochs=100000,
               steps_per_epoch=steps_per_epoch,
               batch_size=batch_size, lr=lr, lr_final=lr_final, lr_decay_start=lr_decay_start,
               max_time=budget, seed=seed, device="cpu", progress=False, callback=cb,
               distributed=_parallel(), val_batch_size=VAL_BATCH)
    wall = time.perf_counter() - t0
    best = min(h["val_mse"] for h in hist)
    out = {"wall_s": round(wall, 1), "epochs": len(hist), "val_mse": best,
           "val_r_score": best * model.norm_std ** 2 / bench.scale,
           "n_params": n_params(model.first_guess)}
    log(f"  first guess: val R {out['val_r_score']:.4g} in {wall:.0f}s")
    return out


def pretrain_prior(model: VarModel, bench: L96Benchmark, *, budget: float, crop: int = 40,
                   batch_size: int = 32, lr: float = 1e-2, seed: int = 0,
                   epochs: int = 100000, log: Callable[[str], None] = print) -> dict:
    """Pre-train a *predictive* prior on the training truths: ‖x − Φ(x)‖² (``fit`` in mode
    ``"prior"``) for ``budget`` seconds or ``epochs`` epochs of 100 steps, whichever ends
    first, no solver iterations (cheap on CPU).

    Only for priors that cannot learn the identity: the flow prior (Φ(x)[t] = RK4(x[t − 1]),
    a regression of the learned ODE's tendency) and the blind-spot U-Net (Φ(x) at a point
    predicted from its neighbours). Returns the validation prediction error relative to that
    of persistence (x[t] predicted by x[t − 1])."""
    x, y, m = (time_crops(t, crop) for t in tensors(bench.train))
    xv = tensors(bench.val.subset(slice(0, 64)))
    t0 = time.perf_counter()
    hist = fit(model, x, y, m, val=xv, mode="prior", epochs=epochs, steps_per_epoch=100,
               batch_size=batch_size, lr=lr, lr_final=lr / 20, max_time=budget, seed=seed,
               device="cpu", progress=False, distributed=_parallel())
    wall = time.perf_counter() - t0
    with torch.no_grad():
        z = model.normalize(xv[0])
        persist = float(((z[:, :, 1:] - z[:, :, :-1]) ** 2).mean())
    best = min(h["val_mse"] for h in hist)      # fit restored the weights of that epoch
    out = {"wall_s": round(wall, 1), "epochs": len(hist), "val_one_step_mse": best,
           "persistence_mse": persist, "relative": best / persist}
    log(f"  prior pre-training: one-step val MSE {out['val_one_step_mse']:.3g} "
        f"({out['relative']:.3g} of persistence) in {wall:.0f}s")
    return out


def bayes_lambda(bench: L96Benchmark, prior_mse: float, std: float) -> float:
    """The λ that makes U a negative log-posterior for Gaussian errors: with U's terms
    normalised by their point counts, λ = (N / N_obs) · σ²_obs / σ²_prior (σ²_obs: the
    observation noise variance, σ²_prior: the prior's residual variance on true states,
    both in the model's normalised units)."""
    frac_obs = float(bench.train.mask.mean())
    noise = float(bench.config["noise_var"]) / std ** 2
    return (1.0 / frac_obs) * noise / max(prior_mse, 1e-12)


def choose_test_iters(model: VarModel, bench: L96Benchmark, n_val: int = 64,
                      candidates: "list[int] | None" = None) -> dict:
    """Pick the inference iteration count on the validation split, among ``candidates``
    (default K, 1.5K, 2K; a row may cap them to keep the fill time in budget)."""
    val = bench.val.subset(slice(0, n_val))
    k0 = model.n_iter
    cands = sorted(set(candidates) if candidates else {k0, int(round(1.5 * k0)), 2 * k0})
    res = {k: evaluate(model, val, bench.scale, n_iter=k)["r_score"] for k in cands}
    best = min(res, key=res.get)
    return {"candidates": {str(k): v for k, v in res.items()}, "chosen": best}


# ---------------------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------------------
def hardware() -> dict:
    return {"machine": platform.machine(), "processor": platform.processor() or _cpu_model(),
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(),
            "note": "2-core machine, possibly shared with other runs: wall times are upper "
                    "bounds; docs/l96.md gives the load of each run"}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def run_row(row: str, *, size: str = "full", seed: int = 0, progress: bool = False,
            save_dir: "str | Path | None" = None, command: str = "",
            log: Callable[[str], None] = print, overrides: "dict | None" = None,
            bench: "L96Benchmark | None" = None) -> dict:
    """Run one row of the table; returns its result dict (scores on the test split).

    ``save_dir``: where trained models are saved (``l96-rk4-lstm`` / ``l96-unet-joint``).
    """
    if row not in ROWS:
        raise ValueError(f"row must be one of {list(ROWS)}, got {row!r}")
    cfg = dict(SETTINGS[size][row])
    cfg.update(overrides or {})
    # ``seed`` draws the data (trajectory, masks, noise); the setting ``train_seed`` (default:
    # the same) seeds the weights and the training batches, for replicate runs on fixed data
    tseed = int(cfg.get("train_seed", seed))
    torch.manual_seed(tseed)
    shared = row.endswith("_shared")
    if bench is None or bool(bench.config.get("shared_mask")) != shared:
        bench = load_benchmark(size, shared_mask=shared, seed=seed)
    mean = float(bench.train.x.mean())
    std = float(bench.train.x.std())
    res: dict = {"row": row, "title": ROW_TITLES[row], "paper_r_score": PAPER.get(row.replace("_shared", "")),
                 "size": size, "seed": seed, "settings": {k: v for k, v in cfg.items()},
                 "workers": ddp.world()[1]}
    log(f"[{row}] size={size}")
    model = None
    if row == "rk4_fsgd":
        t0 = time.perf_counter()
        tune = tune_fsgd(bench, log=log, **cfg)
        b = tune["best"]
        model = rk4_model("fsgd", lam=b["lambda"], step=b["step"], n_iter=max(1, b["best_k"]))
        res.update(tuning=tune, tune_wall_s=round(time.perf_counter() - t0, 1), train_wall_s=0.0,
                   chosen={"lambda": b["lambda"], "step": b["step"], "n_iter": model.n_iter})
        res["test"] = evaluate(model, bench.test, bench.scale)
    elif row in ("fourdvar", "bilinear_4dvar"):
        learned = None
        train_wall = 0.0
        if row == "bilinear_4dvar":      # fit the ODE to the truths, then no more learning
            learned = bilinear_model(hidden=4, n_iter=1, mean=mean, std=std, layout="2d")
            res["prior_pretrain"] = pretrain_prior(learned, bench, budget=cfg["prior_budget"],
                                                   seed=seed, log=log)
            train_wall = res["prior_pretrain"]["wall_s"]
        t0 = time.perf_counter()
        val = bench.val.subset(slice(0, cfg["n_val"]))
        grid = {}
        for lam in cfg["lams"]:
            xh = run_fourdvar(val, lam=lam, n_iter=cfg["n_iter"], chunk=cfg["chunk"], fill=mean,
                              model=learned)
            grid[str(lam)] = scores(xh, val, bench.scale)["r_score"]
            log(f"  4D-Var λ={lam:g}: val R={grid[str(lam)]:.4g}")
        lam = float(min(grid, key=grid.get))
        res.update(val_grid=grid, tune_wall_s=round(time.perf_counter() - t0, 1),
                   train_wall_s=train_wall, chosen={"lambda": lam, "n_iter": cfg["n_iter"]})
        t1 = time.perf_counter()
        xh = run_fourdvar(bench.test, lam=lam, n_iter=cfg["n_iter"], chunk=cfg["chunk"], fill=mean,
                          model=learned)
        res["test"] = scores(xh, bench.test, bench.scale)
        res["test"]["eval_time_s"] = round(time.perf_counter() - t1, 2)
    else:
        if row == "rk4_lstm":
            model = rk4_model("lstm", lam=cfg["lam"], learn_lambda=True, hidden=cfg["hidden"],
                              n_iter=cfg["n_iter"], second_order=cfg["second_order"],
                              layout=cfg.get("layout", "fold"),
                              **({"mean": mean, "std": std} if cfg.get("normalised", True) else {}))
            mode = "solver"
        elif row.startswith("unet_joint"):
            model = unet_model(hidden_prior=cfg["hidden_prior"], hidden_solver=cfg["hidden_solver"],
                               n_iter=cfg["n_iter"], second_order=cfg["second_order"],
                               pool=cfg.get("pool", (2, 1)), mean=mean, std=std,
                               layout=cfg.get("layout", "fold"),
                               scale_by_iterations=cfg.get("scale_by_iterations", False),
                               depth=cfg.get("depth", 1), kernel=cfg.get("prior_kernel", 3),
                               blind=cfg.get("blind", False),
                               split_grad=cfg.get("split_grad", False),
                               residual_input=cfg.get("residual_input", False),
                               first_guess=cfg.get("first_guess"),
                               solver_coarsen=cfg.get("solver_coarsen"))
            mode = "joint"
            if cfg.get("first_guess") and not cfg.get("resume"):
                res["first_guess_fit"] = train_first_guess(
                    model, bench, budget=cfg["fg_budget"], seed=tseed, log=log,
                    **cfg.get("fg_options", {}))
            if cfg.get("dae_budget") and not cfg.get("resume"):
                res["dae_pretrain"] = pretrain_prior_dae(
                    model, bench, budget=cfg["dae_budget"], sigma_max=cfg.get("dae_sigma", 1.0),
                    crop=cfg.get("crop", 40) or 40, seed=seed, log=log)
        else:
            model = bilinear_model(hidden=cfg["hidden"], n_iter=cfg["n_iter"],
                                   second_order=cfg["second_order"], mean=mean, std=std,
                                   lam=cfg.get("lam", 1.0), layout=cfg.get("layout", "fold"),
                                   split_grad=cfg.get("split_grad", False))
            mode = "joint"
        if cfg.get("prior_budget") and not cfg.get("resume"):   # a resumed model is trained
            res["prior_pretrain"] = pretrain_prior(model, bench, budget=cfg["prior_budget"],
                                                   seed=tseed, log=log)
            if cfg.get("lambda_from_prior"):
                lam0 = bayes_lambda(bench, res["prior_pretrain"]["val_one_step_mse"], std)
                with torch.no_grad():
                    model.cost.log_lambda.fill_(math.log(lam0))
                res["lambda_init"] = lam0
                log(f"  λ initialised from the prior's residual: {lam0:.4g}")
        if cfg.get("grad_iters"):
            model.grad_iters = int(cfg["grad_iters"])
        prev_wall = 0.0
        if cfg.get("resume"):      # continue training a saved model of this row
            from varda.core.checkpoint import load as load_model
            model = load_model(cfg["resume"])
            card = model.meta.get("model_card", {})
            prev_wall = float(card.get("train_wall_s", 0.0))
            res["resumed_from"] = {"path": str(cfg["resume"]), "train_wall_s": prev_wall,
                                   "scores_test": card.get("scores_test"),
                                   "command": card.get("command")}
            model.n_iter = cfg["n_iter"]
            res.pop("dae_pretrain", None)
        tr = _train(model, bench, mode=mode, epochs=cfg["epochs"], batch_size=cfg["batch_size"],
                    lr=cfg["lr"], max_time=cfg["max_time"], n_iter=cfg["n_iter"], seed=tseed,
                    progress=progress, loss_weights=cfg.get("loss_weights", (1.0, 0.05, 0.05)),
                    crop=cfg.get("crop", 0), ramp=tuple(cfg.get("ramp", (0.1, 0.3))),
                    k_levels=cfg.get("k_levels"), steps_per_epoch=cfg.get("steps_per_epoch"),
                    lr_final=cfg.get("lr_final"), lr_decay_start=cfg.get("lr_decay_start", 0.0),
                    val_windows=cfg.get("val_windows"), ema=cfg.get("ema"), log=log)
        if ddp.world()[0] != 0:      # another rank of a data-parallel run: rank 0 goes on
            return res
        stages_s = sum(res.get(k, {}).get("wall_s", 0.0)       # training before the joint one
                       for k in ("first_guess_fit", "dae_pretrain", "prior_pretrain"))
        res.update(train_wall_s=round(tr["train_wall_s"] + stages_s + prev_wall, 1),
                   joint_wall_s=tr["train_wall_s"], epochs_run=tr["epochs_run"],
                   schedule={str(k): v for k, v in tr["schedule"].items()},
                   history=[{k: (round(v, 6) if isinstance(v, float) else v) for k, v in h.items()}
                            for h in tr["history"]],
                   lambda_final=float(model.cost.lam.detach()), n_params=n_params(model))
        kt = choose_test_iters(model, bench, candidates=cfg.get("test_iters"))
        model.n_iter = int(kt["chosen"])
        res["test_iters"] = kt
        res["test"] = evaluate(model, bench.test, bench.scale)
        if getattr(model, "first_guess", None) is not None:   # what the solver adds to it
            res["first_guess_test"] = evaluate(model, bench.test, bench.scale, n_iter=0)
    log(f"[{row}] test R={res['test']['r_score']:.4g} (paper {res['paper_r_score']}) "
        f"MSE={res['test']['mse']:.4g} I={res['test']['i_score']:.4g} "
        f"train {res.get('train_wall_s', 0):.0f}s")
    if model is not None and save_dir is not None and row in ("rk4_lstm", "unet_joint"):
        name = {"rk4_lstm": "l96-rk4-lstm", "unet_joint": "l96-unet-joint"}[row]
        model.meta = {"model_card": {
            "name": name, "title": ROW_TITLES[row],
            "protocol": ("Lorenz-96, 40 cyclic sites, F=8, dt=0.05, windows of 200 steps; "
                         "observed every 4th step at 20 random sites (independent masks per "
                         "window), Gaussian noise of variance 2 (≈12.5 % observed); tensors "
                         "(B, 1, time=200, site=40), raw units in and out"),
            "benchmark": dict(bench.config),
            "scores_test": {k: res["test"][k] for k in ("r_score", "mse", "i_score")},
            "paper_r_score": res["paper_r_score"],
            "r_score_scale": bench.scale,
            "train_wall_s": res["train_wall_s"], "n_iter": model.n_iter,
            "hardware": hardware(), "workers": ddp.world()[1], "command": command,
        }, "training": model.meta.get("training", {})}
        path = model.save(Path(save_dir) / name)
        res["saved"] = str(path)
    res["_model"] = model
    return res


def strip(res: dict) -> dict:
    return {k: v for k, v in res.items() if not k.startswith("_")}


def run_table(rows=ROWS, *, size: str = "full", seed: int = 0, progress: bool = False,
              save_dir=None, command: str = "", log: Callable[[str], None] = print) -> dict:
    """Run several rows in sequence (sharing the benchmark data); returns the results dict."""
    out = {"rows": {}, "paper": PAPER, "hardware": hardware(), "command": command,
           "size": size, "seed": seed}
    bench = load_benchmark(size, seed=seed)
    out["benchmark"] = dict(bench.config, r_score_scale=bench.scale)
    for row in rows:
        out["rows"][row] = run_row(row, size=size, seed=seed, progress=progress,
                                   save_dir=save_dir, command=command, log=log, bench=bench)
    return out


def run_quick(*, seed: int = 0, threads: int = 2, size: str = "quick",
              log: Callable[[str], None] = print, rows=ROWS) -> dict:
    """Every row at small size (≈ 2–3 minutes on 2 cores); returns the results dict (models
    under ``res['rows'][row]['_model']``). This is what ``varda demo`` may call."""
    torch.set_num_threads(threads)
    return run_table(rows, size=size, seed=seed, log=log, command=f"run_quick(size={size!r})")


# ---------------------------------------------------------------------------------------
# energy pathway: U and error versus iteration, FSGD vs LSTM on the same cost
# ---------------------------------------------------------------------------------------
@torch.no_grad()
def energy_pathway(models: "dict[str, tuple[VarModel, int]]", split: L96Split, *,
                   ref_cost: VariationalCost, scale: float) -> dict:
    """For each ``name: (model, n_iter)``, run the model's solver ``n_iter`` iterations and
    record, after each iteration, the reference cost U (the same λ and true-physics prior for
    all models) and the R-score."""
    x_true, y, m = tensors(split)
    out = {}
    for name, (model, n_iter) in models.items():
        model.eval()
        yz = model.normalize(y) * m
        x = yz.clone()
        state = None
        us, errs = [], []
        for i in range(n_iter + 1):
            xr = model.denormalize(x)
            with torch.enable_grad():
                xg = xr.detach().requires_grad_(True)
                u_ref = ref_cost(xg, y, m, _true_prior()(xg))
            us.append(float(u_ref.mean()))
            errs.append(float(((xr - x_true) ** 2).mean()) / scale)
            if i == n_iter:
                break
            g, _ = model._grad(x, yz, m, False)
            if state is None:
                state = model.solver.init_state(x, g, n_iter=n_iter)
            x, state = model.solver.step(x, g, state)
        out[name] = {"U": us, "r_score": errs}
    return out


_TRUE_PRIOR: "ODEFlowPrior | None" = None


def _true_prior() -> ODEFlowPrior:
    global _TRUE_PRIOR
    if _TRUE_PRIOR is None:
        _TRUE_PRIOR = ODEFlowPrior(ode={"type": "lorenz96", "forcing": 8.0}, dt=0.05)
    return _TRUE_PRIOR


def plot_pathway(path: dict, png: "str | Path", *, title: str = "") -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, tr in path.items():
        it = np.arange(len(tr["U"]))
        ax[0].loglog(it + 1, tr["U"], label=name)
        ax[1].loglog(it + 1, tr["r_score"], label=name)
    ax[0].set(xlabel="iteration + 1", ylabel="U(x) (true-physics cost)", title="energy")
    ax[1].set(xlabel="iteration + 1", ylabel="R-score", title="reconstruction error")
    for a in ax:
        a.grid(alpha=0.3, which="both")
        a.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------
def markdown_table(results: dict) -> str:
    lines = ["| row | method | R-score (ours) | paper R | MSE (raw) | I-score | train wall (s) |",
             "|---|---|---|---|---|---|---|"]
    for i, (row, r) in enumerate(results["rows"].items(), 1):
        t = r["test"]
        paper = r.get("paper_r_score")
        lines.append(f"| {row} | {r['title']} | {t['r_score']:.3e} | "
                     f"{'' if paper is None else f'{paper:.2e}'} | {t['mse']:.4f} | "
                     f"{t['i_score']:.3e} | {r.get('train_wall_s', 0):.0f} |")
    return "\n".join(lines) + "\n"


def save_results(results: dict, path: "str | Path") -> None:
    doc = copy.deepcopy({k: v for k, v in results.items() if k != "rows"})
    doc["rows"] = {k: strip(v) for k, v in results["rows"].items()}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(doc, indent=1, default=_jsonable) + "\n")


def _jsonable(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, tuple):
        return list(o)
    return str(o)
