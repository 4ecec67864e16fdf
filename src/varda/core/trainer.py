"""Joint end-to-end training of prior, λ and solver on the reconstruction loss

    L = ν1 ‖x − x̂‖² + ν2 ‖x − Φ(x)‖² + ν3 ‖x̂ − Φ(x̂)‖²     (ν = 1, 0.05, 0.05)

with Adam (per-part learning rates), a curriculum on the number of solver iterations, gradient
clipping, a validation split for model selection, and seeds. Without truth (``x=None``) it is
self-supervised: a random part of the observations is hidden from the solver and scored.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch

from varda.core.curriculum import Curriculum, default_schedule  # noqa: F401
# the run's pieces live in fit_run, the loss and validation error in losses, the default
# schedule in curriculum; the names callers import from here stay importable from here
from varda.core.fit_run import (_cosine_lr, epoch_k, finish, setup,  # noqa: F401
                                should_stop, train_epoch, validate_epoch)
from varda.core.losses import evaluate_mse, prepare_data  # noqa: F401
from varda.core.model import VarModel
from varda.errors import unknown_choice

MODES = ("joint", "solver", "prior", "first_guess")


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
    options = dict(val=val, val_fraction=val_fraction, epochs=epochs, batch_size=batch_size,
                   lr=lr, lr_prior=lr_prior, lr_solver=lr_solver, lr_cost=lr_cost, mode=mode,
                   n_iter_schedule=n_iter_schedule, loss_weights=loss_weights,
                   clip_grad=clip_grad, holdout=holdout, seed=seed, device=device,
                   progress=progress, patience=patience, max_time=max_time,
                   steps_per_epoch=steps_per_epoch, lr_final=lr_final,
                   lr_decay_start=lr_decay_start, x0=x0, distributed=distributed,
                   val_batch_size=val_batch_size, ema=ema)
    run = setup(model, x, y, mask, options=options)
    for epoch in range(epochs):
        k = epoch_k(run, epoch)
        train_loss = train_epoch(run, epoch, k)
        entry = validate_epoch(run, epoch, k, train_loss)
        if callback is not None:
            callback(entry)
        if should_stop(run, epoch, k):
            break
    return finish(run)
