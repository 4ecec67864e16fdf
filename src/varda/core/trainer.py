"""Joint end-to-end training of prior, λ and solver on the reconstruction loss

    L = ν1 ‖x − x̂‖² + ν2 ‖x − Φ(x)‖² + ν3 ‖x̂ − Φ(x̂)‖²     (ν = 1, 0.05, 0.05)

with Adam (per-part learning rates), a curriculum on the number of solver iterations, gradient
clipping, a validation split for model selection, and seeds. Without truth (``x=None``) it is
self-supervised: a random part of the observations is hidden from the solver and scored.
"""
from __future__ import annotations

import copy
import math
import time
from typing import Callable, Sequence

import torch
from tqdm.auto import tqdm

from varda.core import distributed as ddp
from varda.core.curriculum import Curriculum
from varda.core.device import resolve_device
from varda.core.model import VarModel
from varda.errors import unknown_choice

MODES = ("joint", "solver", "prior", "first_guess")


def default_schedule(epochs: int, n_iter: int) -> dict[int, int]:
    """Iterations ramp geometrically from 1 to ``n_iter`` over the first half of training."""
    if epochs <= 1:  # no room for a ramp: train at the final iteration count
        return {0: n_iter}
    ramp = max(1, epochs // 2)
    out: dict[int, int] = {}
    for e in range(epochs):
        k = n_iter if e >= ramp else max(1, round(n_iter ** (e / ramp)))
        if not out or k != out[max(out)]:
            out[e] = k
    return out


def _iters_at(schedule: dict[int, int], epoch: int) -> int:
    return schedule[max(e for e in schedule if e <= epoch)]


def _split(n: int, val_fraction: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    perm = torch.randperm(n, generator=gen)
    n_val = int(round(n * val_fraction))
    if val_fraction > 0 and n_val == 0:
        n_val = 1
    if n - n_val < 1:
        raise ValueError(f"{n} samples cannot be split with val_fraction={val_fraction}")
    return perm[n_val:], perm[:n_val]


def _hidden(holdout: "float | Callable", mask: torch.Tensor,
            gen: torch.Generator) -> torch.Tensor:
    """The observed points to hide and score in self-supervised training: a random
    ``holdout`` fraction, or ``holdout(mask, gen)`` (a bool tensor) when it is callable."""
    if callable(holdout):
        return holdout(mask, gen).to(mask.device).bool() & (mask > 0)
    return (torch.rand(mask.shape, generator=gen) < holdout).to(mask.device) & (mask > 0)


def _loss(model: VarModel, x: "torch.Tensor | None", y: torch.Tensor, mask: torch.Tensor,
          k: int, weights: Sequence[float], mode: str, holdout: "float | Callable",
          gen: torch.Generator, x0: "torch.Tensor | None" = None
          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return (loss, x̂, scored-points mask) for one batch."""
    nu1, nu2, nu3 = weights
    if mode in ("prior", "first_guess"):
        if x is None:
            raise ValueError(f"mode={mode!r} is trained on true states; pass x")
        if mode == "prior":
            return ((model.prior(x) - x) ** 2).mean(), x, torch.ones_like(x)
        if model.first_guess is None:
            raise ValueError("mode='first_guess' needs a model with a first guess")
        x_hat = model.first_guess(y, mask)
        return ((x_hat - x) ** 2).mean(), x_hat, torch.ones_like(x)
    if x is None:  # self-supervised: hide part of the observations and score them
        hide = _hidden(holdout, mask, gen)
        x_hat = model(y, mask * (~hide), n_iter=k)
        score = hide.to(y.dtype)
        rec = ((x_hat - y) ** 2 * score).sum() / score.sum().clamp_min(1)
        loss = nu1 * rec + nu3 * ((x_hat - model.prior(x_hat)) ** 2).mean()
        return loss, x_hat, score
    x_hat = model(y, mask, n_iter=k, x0=x0)
    loss = nu1 * ((x_hat - x) ** 2).mean()
    if nu2:
        loss = loss + nu2 * ((x - model.prior(x)) ** 2).mean()
    if nu3:
        loss = loss + nu3 * ((x_hat - model.prior(x_hat)) ** 2).mean()
    return loss, x_hat, torch.ones_like(x)


def fit(model: VarModel, x: "torch.Tensor | None", y: torch.Tensor, mask: torch.Tensor, *,
        val: "tuple | None" = None, val_fraction: float = 0.1, epochs: int = 20,
        batch_size: int = 32, lr: float = 1e-3, lr_prior: "float | None" = None,
        lr_solver: "float | None" = None, lr_cost: "float | None" = None, mode: str = "joint",
        n_iter_schedule: "dict[int, int] | Curriculum | None" = None,
        loss_weights: Sequence[float] = (1.0, 0.05, 0.05), clip_grad: "float | None" = 1.0,
        holdout: "float | Callable" = 0.2, seed: int = 0, device: str = "auto",
        progress: bool = True, patience: "int | None" = None,
        max_time: "float | None" = None, steps_per_epoch: "int | None" = None,
        lr_final: "float | None" = None, lr_decay_start: float = 0.0,
        callback: "Callable[[dict], None] | None" = None,
        x0: "torch.Tensor | None" = None, distributed: bool = False,
        val_batch_size: "int | None" = None, ema: "float | None" = None) -> list[dict]:
    """Train ``model`` in place and return a per-epoch history (list of dicts).

    Args:
        model: the model; its normalisation (``set_normalization``) is applied to the data here.
        x: true states ``(N, C, *spatial)`` in raw units, or None for self-supervised training.
        y: observations, same shape (NaN or anything where ``mask`` is 0).
        mask: Ω, 1/True where observed.
        val: explicit validation ``(x, y, mask)``; else ``val_fraction`` of the samples is held
            out. The epoch with the best validation MSE is restored at the end (never select
            on the test set).
        mode: ``"joint"`` (prior + λ + solver), ``"solver"`` (prior frozen: true physics or a
            pre-trained PCA/AE), ``"prior"`` (Φ alone as an auto-encoder on x) or
            ``"first_guess"`` (the model's learned first guess alone, on ‖G(y, Ω) − x‖²). In
            the other modes a first guess is held fixed.
        lr, lr_prior, lr_solver, lr_cost: Adam learning rates (parts default to ``lr``).
        lr_final: if set, every learning rate follows a cosine decay to ``lr_final / lr`` of
            its initial value over the run; progress is the larger of the fraction of epochs
            done and the fraction of ``max_time`` used, so a time-bounded run also ends decayed.
        lr_decay_start: the learning rates stay constant until this fraction of the run, then
            the cosine decay to ``lr_final`` spans the rest.
        n_iter_schedule: ``{epoch: K}`` table, or a :class:`~varda.core.curriculum.Curriculum`
            (K from the run's progress, the larger of the fraction of epochs done and of
            ``max_time`` used, read at the start of each epoch); default ramps 1 →
            ``model.n_iter``. ``model.meta["training"]`` records the K each epoch ran at, the
            largest K reached (``n_iter_reached``) and why training stopped (``stop_reason``:
            ``"epochs"`` or ``"max_time"``).
        loss_weights: (ν1, ν2, ν3).
        clip_grad: max gradient norm (None: no clipping).
        holdout: fraction of observations hidden and scored in self-supervised mode, or a
            callable ``holdout(mask, generator)`` returning the bool tensor of points to hide
            (e.g. cloud masks borrowed from other time steps); only observed points count.
        patience: early stopping: stop when the validation MSE has not improved for this
            many epochs run at the final iteration count (``stop_reason="early_stopping"``).
        seed: seeds the split, batches, hidden points and torch.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``… to train on. The model comes back on
            the device it was on before the call (its weights updated), so that code written
            for the CPU keeps working when ``"auto"`` finds a GPU.
        max_time: stop after this many seconds (at the end of an epoch).
        steps_per_epoch: if set, an "epoch" is this many batches drawn from a running
            permutation of the samples (a pass over the data may span several epochs), so
            validation, model selection, the curriculum and ``max_time`` act at a fixed
            granularity however large the training set is.
        ema: if set (e.g. 0.99), also keep an exponential moving average of the weights,
            updated after every step with decay ``min(ema, (1 + t) / (10 + t))`` at step t;
            validation, the best-epoch selection and the returned model then use the
            averaged weights (training goes on from the raw ones). Averaging smooths the
            step-to-step noise of small batches.
        callback: called with each epoch's history entry.
        x0: optional starting states of the solver for the training samples (raw units, the
            shape of ``y``), e.g. a first guess computed once on longer windows than the
            training crops; validation still starts from the model's own default.
    """
    if mode not in MODES:
        raise unknown_choice("training mode", mode, list(MODES))
    if mode in ("prior", "first_guess") and x is None:
        raise ValueError(f"mode={mode!r} is trained on true states; pass x")
    if mode == "first_guess" and getattr(model, "first_guess", None) is None:
        raise ValueError("mode='first_guess' needs a model with a first guess "
                         "(VarModel(first_guess=BiGRUSmoother(...)))")
    if x0 is not None and (x is None or mode not in ("joint", "solver")):
        raise ValueError("x0 is only used in 'joint' and 'solver' training with truth: in "
                         "self-supervised training a precomputed start would have seen the "
                         "observations held out for scoring; leave x0=None")
    if x0 is not None and tuple(x0.shape) != tuple(y.shape):
        raise ValueError(f"x0 must have the shape of y {tuple(y.shape)}, got {tuple(x0.shape)}")
    rank, n_ranks = ddp.require_group() if distributed else (0, 1)
    if batch_size < n_ranks:
        raise ValueError(f"batch_size {batch_size} is smaller than the {n_ranks} ranks")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    dev = resolve_device(device)
    home = next(model.parameters()).device
    model.to(dev)
    if distributed:
        ddp.broadcast_parameters(model)

    def prep(xx, yy, mm):
        return prepare_data(model, xx, yy, mm)

    x_n, y_n, m_n = prep(x, y, mask)
    s_n = None if x0 is None else model.normalize(torch.as_tensor(x0, dtype=torch.float32))
    if val is None:
        tr, va = _split(y_n.shape[0], val_fraction, gen)
        data_val = (None if x_n is None else x_n[va], y_n[va], m_n[va])
        x_n, y_n, m_n = (None if x_n is None else x_n[tr]), y_n[tr], m_n[tr]
        s_n = None if s_n is None else s_n[tr]
    else:
        data_val = prep(*val)

    prior_flags = [p.requires_grad for p in model.prior.parameters()]
    if mode == "solver":
        for p in model.prior.parameters():
            p.requires_grad_(False)
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
    opt = torch.optim.Adam(groups)
    schedule: "dict[int, int] | Curriculum" = (n_iter_schedule if n_iter_schedule is not None
                                                else default_schedule(epochs, model.n_iter))
    history: list[dict] = []
    best = (math.inf, copy.deepcopy(model.state_dict()), -1)
    if ema is not None and not 0.0 < float(ema) < 1.0:
        raise ValueError(f"ema must be a decay in (0, 1) or None, got {ema}")
    trained: list[torch.Tensor] = [p for g in groups for p in g["params"]]
    ema_decay = None if ema is None else float(ema)
    averaged = None if ema_decay is None else [p.detach().clone() for p in trained]
    n_updates = 0
    t0 = time.perf_counter()
    n = y_n.shape[0]
    if not 0.0 <= lr_decay_start < 1.0:
        raise ValueError(f"lr_decay_start must be in [0, 1), got {lr_decay_start}")
    if steps_per_epoch is not None and steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be >= 1 or None, got {steps_per_epoch}")
    # each rank draws its own batches (rank 0 as a single process would) of its share
    bgen = gen if rank == 0 else torch.Generator().manual_seed(seed + 7919 * rank)
    local_batch = batch_size // n_ranks + int(rank < batch_size % n_ranks)
    stream = _batch_stream(n, local_batch, bgen)
    elapsed = 0.0      # seconds since t0 (the mean over the ranks when distributed)
    vbs = batch_size if val_batch_size is None else int(val_batch_size)
    stop_reason = "epochs"
    k_final = max(schedule.levels) if isinstance(schedule, Curriculum) else max(schedule.values())
    first_final = epochs   # the first epoch run at k_final (early stopping counts from there)
    for epoch in range(epochs):
        if isinstance(schedule, Curriculum):
            k = schedule.n_iter(epoch / epochs if max_time is None else
                                max(epoch / epochs, elapsed / max(max_time, 1e-9)))
        else:
            k = _iters_at(schedule, epoch)
        if k >= k_final:
            first_final = min(first_final, epoch)
        model.train()
        if steps_per_epoch is None:
            perm = torch.randperm(n, generator=bgen)
            n_steps = math.ceil(n / batch_size)
            batches = [perm[s:s + local_batch]
                       for s in range(0, n_steps * local_batch, local_batch)][:n_steps]
            batches = [b if len(b) else perm[:local_batch] for b in batches]
        else:
            batches = [next(stream) for _ in range(steps_per_epoch)]
        total, count = 0.0, 0
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{epochs} K={k}",
                   disable=not progress, leave=False)
        for idx in bar:
            xb = None if x_n is None else x_n[idx].to(dev)
            yb, mb = y_n[idx].to(dev), m_n[idx].to(dev)
            sb = None if s_n is None else s_n[idx].to(dev)
            loss, _, _ = _loss(model, xb, yb, mb, k, loss_weights, mode, holdout, bgen, sb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            elapsed = time.perf_counter() - t0
            if distributed:   # mean gradient; the ranks' mean clock drives the schedules
                (elapsed,) = ddp.average_gradients_(trained, elapsed)
            if lr_final is not None:
                done = epoch / epochs if max_time is None else \
                    max(epoch / epochs, elapsed / max_time)
                _cosine_lr(groups, lr_final / lr,
                           (done - lr_decay_start) / max(1.0 - lr_decay_start, 1e-9))
            if clip_grad:
                torch.nn.utils.clip_grad_norm_(trained, clip_grad)
            opt.step()
            if averaged is not None and ema_decay is not None:
                n_updates += 1
                decay = min(ema_decay, (1.0 + n_updates) / (10.0 + n_updates))
                with torch.no_grad():
                    torch._foreach_lerp_(averaged, [p.detach() for p in trained], 1.0 - decay)
            total += float(loss.detach()) * len(idx)
            count += len(idx)
            bar.set_postfix(loss=f"{total / count:.4g}")
        train_loss = total / max(count, 1)
        raw = _swap_in(trained, averaged)       # validate (and snapshot) the averaged weights
        if distributed:     # rank r scores validation samples r, r + R, …; sums all-reduced
            num, den = _sq_error_sums(model, *(None if t is None else t[rank::n_ranks]
                                              for t in data_val),
                                      n_iter=k, mode=mode, batch_size=vbs,
                                      holdout=holdout, seed=seed + rank)
            (sums,) = ddp.average([torch.tensor([num, den, train_loss,
                                                 time.perf_counter() - t0])])
            num, den, train_loss, elapsed = (float(v) for v in sums)   # rank means
            val_mse = num / den if den > 0 else num
        else:
            val_mse = evaluate_mse(model, *data_val, n_iter=k, mode=mode,
                                   batch_size=vbs, holdout=holdout, seed=seed)
            elapsed = time.perf_counter() - t0
        entry = {"epoch": epoch + 1, "n_iter": k, "train_loss": train_loss,
                 "val_mse": val_mse, "lambda": float(model.cost.lam.detach()),
                 "time_s": elapsed}
        history.append(entry)
        # select among epochs run at the final iteration count when possible; snapshot the
        # weights that were just validated, before a callback can touch the model
        if val_mse < best[0] or (best[2] >= 0 and k > history[best[2]]["n_iter"]):
            best = (val_mse, copy.deepcopy(model.state_dict()), epoch)
        _swap_in(trained, raw)
        if callback is not None:
            callback(entry)
        if max_time is not None and elapsed > max_time:
            stop_reason = "max_time"
            break
        if patience is not None and k >= k_final and best[2] >= 0 \
                and epoch - max(best[2], first_final) >= int(patience):
            stop_reason = "early_stopping"
            break
    model.load_state_dict(best[1])
    model.to(home)
    model.eval()
    for p, flag in zip(model.prior.parameters(), prior_flags):
        p.requires_grad_(flag)
    model.meta.setdefault("training", {}).update({
        "epochs_run": len(history), "best_epoch": best[2] + 1, "best_val_mse": best[0],
        "wall_time_s": round(time.perf_counter() - t0, 2), "mode": mode, "seed": seed,
        "loss_weights": list(loss_weights), "device": str(dev), "stop_reason": stop_reason,
        "n_iter_reached": max(h["n_iter"] for h in history) if history else 0,
        "n_iter_schedule": _changes([h["n_iter"] for h in history])})
    return history


def _changes(ks: "list[int]") -> dict[str, int]:
    """``{epoch: K}`` at the epochs (1-based) where K changed."""
    return {str(e + 1): k for e, k in enumerate(ks) if e == 0 or k != ks[e - 1]}


@torch.no_grad()
def _swap_in(params: "list[torch.Tensor]", values: "list[torch.Tensor] | None"):
    """Copy ``values`` into ``params`` in place and return the previous values (None and
    nothing done when ``values`` is None)."""
    if values is None:
        return None
    old = [p.detach().clone() for p in params]
    for p, v in zip(params, values):
        p.copy_(v)
    return old


def _cosine_lr(groups: list[dict], final_factor: float, progress: float) -> None:
    """Set each group's lr to lr0 · (f + (1 − f)(1 + cos πp)/2), p = progress in [0, 1]."""
    p = min(max(progress, 0.0), 1.0)
    factor = final_factor + (1.0 - final_factor) * 0.5 * (1.0 + math.cos(math.pi * p))
    for g in groups:
        g["lr"] = g["lr0"] * factor


def _batch_stream(n: int, batch_size: int, gen: torch.Generator):
    """Endless batches of indices: consecutive slices of fresh random permutations."""
    while True:
        perm = torch.randperm(n, generator=gen)
        for s in range(0, n, batch_size):
            yield perm[s:s + batch_size]


def prepare_data(model: VarModel, x, y, mask) -> tuple:
    """``(x, y, mask)`` in raw units → what :func:`evaluate_mse` and the training loop take:
    float32 tensors, normalised by the model, ``y`` zero where ``mask`` is 0 (the mask keeps
    its values: a holdout may read marks in it)."""
    mask = torch.as_tensor(mask).to(torch.float32)
    y = torch.nan_to_num(model.normalize(torch.as_tensor(y, dtype=torch.float32))) * (mask > 0)
    x = None if x is None else model.normalize(torch.as_tensor(x, dtype=torch.float32))
    return x, y, mask


@torch.no_grad()
def evaluate_mse(model: VarModel, x, y, mask, *, n_iter: "int | None" = None, mode: str = "joint",
                 batch_size: int = 64, holdout: "float | Callable" = 0.2, seed: int = 0) -> float:
    """Mean squared error (normalised units) of the model on prepared data."""
    num, den = _sq_error_sums(model, x, y, mask, n_iter=n_iter, mode=mode,
                              batch_size=batch_size, holdout=holdout, seed=seed)
    return num / max(den, 1.0)


@torch.no_grad()
def _sq_error_sums(model: VarModel, x, y, mask, *, n_iter: "int | None", mode: str,
                   batch_size: int, holdout: "float | Callable", seed: int) -> tuple[float, float]:
    """(sum of squared errors, number of scored points) of :func:`evaluate_mse`."""
    model.eval()
    gen = torch.Generator().manual_seed(seed + 1)
    dev = next(model.parameters()).device
    num, den = 0.0, 0.0
    for s in range(0, y.shape[0], batch_size):
        yb, mb = y[s:s + batch_size].to(dev), mask[s:s + batch_size].to(dev)
        xb = None if x is None else x[s:s + batch_size].to(dev)
        if mode in ("prior", "first_guess"):
            if mode == "prior":
                out = model.prior(xb)
            elif model.first_guess is not None:
                out = model.first_guess(yb, mb)
            else:
                raise ValueError("mode='first_guess' needs a model with a first guess")
            err = (out - xb) ** 2
            num += float(err.sum()); den += err.numel()
        elif xb is None:
            hide = _hidden(holdout, mb, gen)
            x_hat = model(yb, mb * (~hide), n_iter=n_iter)
            num += float((((x_hat - yb) ** 2) * hide).sum()); den += float(hide.sum())
        else:
            x_hat = model(yb, mb, n_iter=n_iter)
            num += float(((x_hat - xb) ** 2).sum()); den += xb.numel()
    return num, den
