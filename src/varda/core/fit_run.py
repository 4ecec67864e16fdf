"""The pieces of :func:`varda.core.fit`: setting a run up (data, optimiser, schedule, weight
averaging), one epoch of optimiser steps, its validation and best-epoch snapshot, and the record
the model keeps. :func:`~varda.core.trainer.fit` strings them together."""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from varda.core import distributed as ddp
from varda.core.curriculum import Curriculum, _iters_at, default_schedule
from varda.core.device import resolve_device
from varda.core.losses import _sq_error_sums, batch_loss, evaluate_mse, prepare_data
from varda.core.model import VarModel


@dataclass
class FitRun:
    """Everything one :func:`~varda.core.trainer.fit` call carries from epoch to epoch."""

    model: VarModel
    options: dict[str, Any]            # fit's keyword options, as given
    dev: torch.device
    home: torch.device                 # where the model goes back to at the end
    rank: int
    n_ranks: int
    data: tuple                        # (x, y, mask, x0) prepared training tensors
    data_val: tuple                    # (x, y, mask) prepared validation tensors
    prior_flags: list[bool]
    groups: list[dict]
    opt: torch.optim.Optimizer
    schedule: "dict[int, int] | Curriculum"
    trained: list[torch.Tensor]
    averaged: "list[torch.Tensor] | None"
    bgen: torch.Generator
    stream: Any
    local_batch: int
    k_final: int
    t0: float
    best: tuple                        # (val MSE, state_dict, epoch index)
    history: list[dict] = field(default_factory=list)
    n_updates: int = 0
    elapsed: float = 0.0               # seconds since t0 (the ranks' mean when distributed)
    stop_reason: str = "epochs"
    first_final: int = 0               # the first epoch run at k_final


def _split(n: int, val_fraction: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    perm = torch.randperm(n, generator=gen)
    n_val = int(round(n * val_fraction))
    if val_fraction > 0 and n_val == 0:
        n_val = 1
    if n - n_val < 1:
        raise ValueError(f"{n} samples cannot be split with val_fraction={val_fraction}")
    return perm[n_val:], perm[:n_val]


def _cosine_lr(groups: list[dict], final_factor: float, progress: float) -> None:
    """Set each group's lr to lr0 · (f + (1 − f)(1 + cos πp)/2), p = progress in [0, 1]."""
    p = min(max(progress, 0.0), 1.0)
    factor = final_factor + (1.0 - final_factor) * 0.5 * (1.0 + math.cos(math.pi * p))
    for g in groups:
        g["lr"] = g["lr0"] * factor


def parameter_groups(model: VarModel, mode: str, lr: float, lr_prior, lr_solver,
                     lr_cost) -> list[dict]:
    """Adam's parameter groups of the parts ``mode`` trains (each with its ``lr0``)."""
    groups: list[dict] = []
    parts = {"prior": ((model.prior, lr_prior),), "first_guess": ((model.first_guess, None),)}.get(
        mode, ((model.prior, lr_prior), (model.solver, lr_solver), (model.cost, lr_cost)))
    for part, plr in parts:
        if part is None:
            continue
        params = [p for p in part.parameters() if p.requires_grad]
        if params:
            groups.append({"params": params, "lr": lr if plr is None else plr})
    for g in groups:
        g["lr0"] = g["lr"]
    if not groups:
        raise ValueError("nothing to train: every parameter is frozen for this mode")
    return groups


def setup(model: VarModel, x, y, mask, *, options: dict[str, Any]) -> FitRun:
    """Seed, move the model, prepare and split the data, build the optimiser and the schedule
    (``options``: fit's keyword options)."""
    o = options
    rank, n_ranks = ddp.require_group() if o["distributed"] else (0, 1)
    if o["batch_size"] < n_ranks:
        raise ValueError(f"batch_size {o['batch_size']} is smaller than the {n_ranks} ranks")
    torch.manual_seed(o["seed"])
    gen = torch.Generator().manual_seed(o["seed"])
    dev = resolve_device(o["device"])
    home = next(model.parameters()).device
    model.to(dev)
    if o["distributed"]:
        ddp.broadcast_parameters(model)
    x_n, y_n, m_n = prepare_data(model, x, y, mask)
    x0 = o["x0"]
    s_n = None if x0 is None else model.normalize(torch.as_tensor(x0, dtype=torch.float32))
    if o["val"] is None:
        tr, va = _split(y_n.shape[0], o["val_fraction"], gen)
        data_val = (None if x_n is None else x_n[va], y_n[va], m_n[va])
        x_n, y_n, m_n = (None if x_n is None else x_n[tr]), y_n[tr], m_n[tr]
        s_n = None if s_n is None else s_n[tr]
    else:
        data_val = prepare_data(model, *o["val"])
    prior_flags = [p.requires_grad for p in model.prior.parameters()]
    if o["mode"] == "solver":
        for p in model.prior.parameters():
            p.requires_grad_(False)
    groups = parameter_groups(model, o["mode"], o["lr"], o["lr_prior"], o["lr_solver"],
                              o["lr_cost"])
    opt = torch.optim.Adam(groups)
    schedule = (o["n_iter_schedule"] if o["n_iter_schedule"] is not None
                else default_schedule(o["epochs"], model.n_iter))
    best = (math.inf, copy.deepcopy(model.state_dict()), -1)
    ema = o["ema"]
    if ema is not None and not 0.0 < float(ema) < 1.0:
        raise ValueError(f"ema must be a decay in (0, 1) or None, got {ema}")
    trained: list[torch.Tensor] = [p for g in groups for p in g["params"]]
    averaged = None if ema is None else [p.detach().clone() for p in trained]
    t0 = time.perf_counter()
    if not 0.0 <= o["lr_decay_start"] < 1.0:
        raise ValueError(f"lr_decay_start must be in [0, 1), got {o['lr_decay_start']}")
    if o["steps_per_epoch"] is not None and o["steps_per_epoch"] < 1:
        raise ValueError(f"steps_per_epoch must be >= 1 or None, got {o['steps_per_epoch']}")
    # each rank draws its own batches (rank 0 as a single process would) of its share
    bgen = gen if rank == 0 else torch.Generator().manual_seed(o["seed"] + 7919 * rank)
    batch_size = o["batch_size"]
    local_batch = batch_size // n_ranks + int(rank < batch_size % n_ranks)
    k_final = max(schedule.levels) if isinstance(schedule, Curriculum) else max(schedule.values())
    return FitRun(model, o, dev, home, rank, n_ranks, (x_n, y_n, m_n, s_n), data_val,
                  prior_flags, groups, opt, schedule, trained, averaged, bgen,
                  _batch_stream(y_n.shape[0], local_batch, bgen), local_batch, k_final, t0,
                  best, first_final=o["epochs"])


def _batch_stream(n: int, batch_size: int, gen: torch.Generator):
    """Endless batches of indices: consecutive slices of fresh random permutations."""
    while True:
        perm = torch.randperm(n, generator=gen)
        for s in range(0, n, batch_size):
            yield perm[s:s + batch_size]


def epoch_batches(r: FitRun) -> list[torch.Tensor]:
    """This rank's batches of one epoch: a pass over a fresh permutation, or
    ``steps_per_epoch`` batches of the running stream."""
    o = r.options
    if o["steps_per_epoch"] is not None:
        return [next(r.stream) for _ in range(o["steps_per_epoch"])]
    n = r.data[1].shape[0]
    perm = torch.randperm(n, generator=r.bgen)
    n_steps = math.ceil(n / o["batch_size"])
    lb = r.local_batch
    batches = [perm[s:s + lb] for s in range(0, n_steps * lb, lb)][:n_steps]
    return [b if len(b) else perm[:lb] for b in batches]


def _average_step(r: FitRun) -> None:
    """Update the moving average of the weights after an optimiser step."""
    if r.averaged is None or r.options["ema"] is None:
        return
    r.n_updates += 1
    decay = min(float(r.options["ema"]), (1.0 + r.n_updates) / (10.0 + r.n_updates))
    with torch.no_grad():
        torch._foreach_lerp_(r.averaged, [p.detach() for p in r.trained], 1.0 - decay)


def epoch_k(r: FitRun, epoch: int) -> int:
    """The solver iterations K of ``epoch`` (from the schedule, or the curriculum at the run's
    progress: the larger of the epochs done and ``max_time`` used)."""
    o = r.options
    epochs, max_time = o["epochs"], o["max_time"]
    if isinstance(r.schedule, Curriculum):
        k = r.schedule.n_iter(epoch / epochs if max_time is None else
                              max(epoch / epochs, r.elapsed / max(max_time, 1e-9)))
    else:
        k = _iters_at(r.schedule, epoch)
    if k >= r.k_final:
        r.first_final = min(r.first_final, epoch)
    return k


def train_epoch(r: FitRun, epoch: int, k: int) -> float:
    """One epoch of optimiser steps at K = ``k``; returns the mean training loss."""
    o = r.options
    x_n, y_n, m_n, s_n = r.data
    epochs = o["epochs"]
    r.model.train()
    total, count = 0.0, 0
    bar = tqdm(epoch_batches(r), desc=f"epoch {epoch + 1}/{epochs} K={k}",
               disable=not o["progress"], leave=False)
    for idx in bar:
        xb = None if x_n is None else x_n[idx].to(r.dev)
        yb, mb = y_n[idx].to(r.dev), m_n[idx].to(r.dev)
        sb = None if s_n is None else s_n[idx].to(r.dev)
        value, _, _ = batch_loss(r.model, xb, yb, mb, k, o["loss_weights"], o["mode"], o["holdout"],
                           r.bgen, sb)
        r.opt.zero_grad(set_to_none=True)
        value.backward()
        r.elapsed = time.perf_counter() - r.t0
        if o["distributed"]:   # mean gradient; the ranks' mean clock drives the schedules
            (r.elapsed,) = ddp.average_gradients_(r.trained, r.elapsed)
        if o["lr_final"] is not None:
            max_time = o["max_time"]
            done = epoch / epochs if max_time is None else \
                max(epoch / epochs, r.elapsed / max_time)
            start = o["lr_decay_start"]
            _cosine_lr(r.groups, o["lr_final"] / o["lr"], (done - start) / max(1.0 - start, 1e-9))
        if o["clip_grad"]:
            torch.nn.utils.clip_grad_norm_(r.trained, o["clip_grad"])
        r.opt.step()
        _average_step(r)
        total += float(value.detach()) * len(idx)
        count += len(idx)
        bar.set_postfix(loss=f"{total / count:.4g}")
    return total / max(count, 1)


def validate_epoch(r: FitRun, epoch: int, k: int, train_loss: float) -> dict:
    """Validate the epoch's (averaged) weights, snapshot them if best, and return the
    epoch's history entry (appended to ``r.history``)."""
    o = r.options
    vbs = o["batch_size"] if o["val_batch_size"] is None else int(o["val_batch_size"])
    raw = swap_in(r.trained, r.averaged)    # validate (and snapshot) the averaged weights
    if o["distributed"]:     # rank r scores validation samples r, r + R, …; sums all-reduced
        num, den = _sq_error_sums(r.model, *(None if t is None else t[r.rank::r.n_ranks]
                                            for t in r.data_val),
                                 n_iter=k, mode=o["mode"], batch_size=vbs,
                                 holdout=o["holdout"], seed=o["seed"] + r.rank)
        (sums,) = ddp.average([torch.tensor([num, den, train_loss,
                                             time.perf_counter() - r.t0])])
        num, den, train_loss, r.elapsed = (float(v) for v in sums)   # rank means
        val_mse = num / den if den > 0 else num
    else:
        val_mse = evaluate_mse(r.model, *r.data_val, n_iter=k, mode=o["mode"], batch_size=vbs,
                           holdout=o["holdout"], seed=o["seed"])
        r.elapsed = time.perf_counter() - r.t0
    entry = {"epoch": epoch + 1, "n_iter": k, "train_loss": train_loss,
             "val_mse": val_mse, "lambda": float(r.model.cost.lam.detach()),
             "time_s": r.elapsed}
    r.history.append(entry)
    # select among epochs run at the final iteration count when possible; snapshot the
    # weights that were just validated, before a callback can touch the model
    if val_mse < r.best[0] or (r.best[2] >= 0 and k > r.history[r.best[2]]["n_iter"]):
        r.best = (val_mse, copy.deepcopy(r.model.state_dict()), epoch)
    swap_in(r.trained, raw)
    return entry


def should_stop(r: FitRun, epoch: int, k: int) -> bool:
    """Whether to stop after ``epoch`` (``max_time`` spent, or no validation progress for
    ``patience`` epochs at the final K); sets ``r.stop_reason``."""
    o = r.options
    if o["max_time"] is not None and r.elapsed > o["max_time"]:
        r.stop_reason = "max_time"
        return True
    if o["patience"] is not None and k >= r.k_final and r.best[2] >= 0 \
            and epoch - max(r.best[2], r.first_final) >= int(o["patience"]):
        r.stop_reason = "early_stopping"
        return True
    return False


def finish(r: FitRun) -> list[dict]:
    """Restore the best epoch's weights, put the model back where it was, and record the run
    in ``model.meta["training"]``; returns the history."""
    model, o, history = r.model, r.options, r.history
    model.load_state_dict(r.best[1])
    model.to(r.home)
    model.eval()
    for p, flag in zip(model.prior.parameters(), r.prior_flags):
        p.requires_grad_(flag)
    model.meta.setdefault("training", {}).update({
        "epochs_run": len(history), "best_epoch": r.best[2] + 1, "best_val_mse": r.best[0],
        "wall_time_s": round(time.perf_counter() - r.t0, 2), "mode": o["mode"],
        "seed": o["seed"], "loss_weights": list(o["loss_weights"]), "device": str(r.dev),
        "stop_reason": r.stop_reason,
        "n_iter_reached": max(h["n_iter"] for h in history) if history else 0,
        "n_iter_schedule": _changes([h["n_iter"] for h in history])})
    return history


def _changes(ks: "list[int]") -> dict[str, int]:
    """``{epoch: K}`` at the epochs (1-based) where K changed."""
    return {str(e + 1): k for e, k in enumerate(ks) if e == 0 or k != ks[e - 1]}


@torch.no_grad()
def swap_in(params: "list[torch.Tensor]", values: "list[torch.Tensor] | None"):
    """Copy ``values`` into ``params`` in place and return the previous values (None and
    nothing done when ``values`` is None)."""
    if values is None:
        return None
    old = [p.detach().clone() for p in params]
    for p, v in zip(params, values):
        p.copy_(v)
    return old


__all__ = ["FitRun", "setup", "epoch_k", "train_epoch", "validate_epoch", "should_stop",
           "finish"]
