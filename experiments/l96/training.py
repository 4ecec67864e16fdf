"""Training and tuning stages of the Lorenz-96 rows: FSGD grid search, 4D-Var, pre-training
of priors and first guesses, the joint training with its iteration curriculum, and the choice
of the inference iteration count (all on the validation split, never the test split)."""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch

from experiments.l96.data import evaluate, reconstruct, scores, tensors, time_crops, overlapping_crops
from experiments.l96.models import n_params, rk4_model
from varda.baselines.fourdvar import fourdvar
from varda.core import distributed as ddp
from varda.core.curriculum import Curriculum
from varda.core.model import VarModel
from varda.core.priors.flow import ODEFlowPrior
from varda.core.trainer import fit
from varda.datasets.lorenz96 import L96Benchmark, L96Split


def true_physics_prior() -> ODEFlowPrior:
    """Φ = one RK4 step of the true Lorenz-96 equations (F = 8, dt = 0.05), raw units."""
    return ODEFlowPrior(ode={"type": "lorenz96", "forcing": 8.0}, dt=0.05, n_substeps=1)


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
    if prior is None:
        prior = true_physics_prior()
    out = [fourdvar(y[s:s + chunk], m[s:s + chunk], prior, lam=lam, n_iter=n_iter, fill=fill)
           for s in range(0, len(y), chunk)]
    xh = torch.cat(out)
    if model is not None:
        xh = model.denormalize(xh)
    return xh[:, 0].numpy()


def _train(model: VarModel, bench: L96Benchmark, *, mode: str, epochs: int, batch_size: int,
           lr: float, max_time: float, n_iter: int, seed: int, progress: bool,
           loss_weights=(1.0, 0.05, 0.05), ramp=(0.1, 0.3), crop: int = 0,
           k_levels=None, steps_per_epoch: "int | None" = None,
           lr_final: "float | None" = None, lr_decay_start: float = 0.0, val_windows: "int | None" = None,
           ema: "float | None" = None, log: Callable[[str], None] = print) -> dict:
    """Train with :func:`varda.core.fit` and an iteration curriculum on the run's progress
    (:class:`varda.core.curriculum.Curriculum`): ``k_levels`` switching at the ``ramp``
    fractions of ``max_time``; default K/4, K/2, then K.

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
    if k_levels:
        levels = tuple(int(k) for k in k_levels)
        curriculum = Curriculum(levels, tuple(ramp)[:len(levels) - 1])
    else:
        curriculum = Curriculum.quarters(n_iter, ramp)

    def cb(e: dict) -> None:
        log(f"  epoch {e['epoch']} K={e['n_iter']} loss={e['train_loss']:.4g} "
            f"val_mse(norm)={e['val_mse']:.4g} λ={e['lambda']:.3g} t={e['time_s']:.0f}s")

    t0 = time.perf_counter()
    hist = fit(model, x, y, m, val=val, epochs=epochs, batch_size=batch_size, lr=lr,
               mode=mode, n_iter_schedule=curriculum, loss_weights=loss_weights, seed=seed,
               device="cpu", progress=progress, max_time=max_time, callback=cb,
               steps_per_epoch=steps_per_epoch, lr_final=lr_final,
               lr_decay_start=lr_decay_start, x0=x0, distributed=_parallel(),
               val_batch_size=VAL_BATCH, ema=ema)
    wall = time.perf_counter() - t0
    return {"train_wall_s": round(wall, 1), "epochs_run": len(hist),
            "schedule": dict(model.meta["training"]["n_iter_schedule"]), "history": hist}


# windows per validation call in training (and the default of reconstruct/evaluate) on CPU:
# 200 × 40 windows run 1.4–2.5× faster per window in calls of 8 than of 32–64 (the
# activations stay in cache)
VAL_BATCH = 8


def _parallel() -> bool:
    """Whether this process is one rank of several (:func:`experiments.l96.runner.run_row_parallel`): every
    training stage then runs data-parallel (``fit(distributed=True)``)."""
    return ddp.world()[1] > 1


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



def train_stage(model: VarModel, bench: L96Benchmark, cfg: dict, *, mode: str, seed: int,
                progress: bool = False, log: Callable[[str], None] = print) -> dict:
    """One training stage of a row with its settings ``cfg`` (see :mod:`experiments.l96.settings`)."""
    return _train(model, bench, mode=mode, epochs=cfg["epochs"], batch_size=cfg["batch_size"],
                  lr=cfg["lr"], max_time=cfg["max_time"], n_iter=cfg["n_iter"], seed=seed,
                  progress=progress, loss_weights=cfg.get("loss_weights", (1.0, 0.05, 0.05)),
                  crop=cfg.get("crop", 0), ramp=tuple(cfg.get("ramp", (0.1, 0.3))),
                  k_levels=cfg.get("k_levels"), steps_per_epoch=cfg.get("steps_per_epoch"),
                  lr_final=cfg.get("lr_final"), lr_decay_start=cfg.get("lr_decay_start", 0.0),
                  val_windows=cfg.get("val_windows"), ema=cfg.get("ema"), log=log)
