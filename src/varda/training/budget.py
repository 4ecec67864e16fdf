"""How much work automatic training does: chosen from the data size and a time budget, as a
fixed number of optimiser steps (never a wall-clock cap, so that the result does not depend on
the machine's load).

Each automatic candidate gets the same work (candidates are compared at equal budget):

* **data size**: at most :data:`PASSES` passes over the training patches (a small archive —
  the 50 winters of the ``eofs`` SST — overfits, and costs minutes, when trained for the
  steps a year of daily fields needs), at least :data:`MIN_STEPS` steps;
* **time budget** ``max_time`` (default :data:`DEFAULT_MAX_TIME` seconds for all candidates
  together): converted into steps with a fixed cost model of 2 CPU cores
  (:func:`seconds_per_step`, scaled by the prior's own
  :attr:`~varda.core.components.Component.training_cost`), so a large archive stops at the
  same step on any machine;
* at most ``AUTO_EPOCHS × AUTO_STEPS`` steps (the previous fixed recipe).

The best epoch on validation is kept and the iteration count K is swept from 0 (the
background alone) on validation, so the returned model is never worse on validation than the
background alone nor than the same candidate after fewer epochs (a shorter run).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

#: seconds of training (all candidates together) that automatic mode plans for, on 2 CPU cores.
#: The background choice, patches and error calibration come on top: about 35 s on a year of
#: daily 64 × 96 fields, whose whole ``varda.train`` then takes about 2.5 minutes
DEFAULT_MAX_TIME = 120.0
#: passes over the training patches, at most
PASSES = 24
#: optimiser steps per candidate, at least (a tiny archive still learns something)
MIN_STEPS = 24
#: epochs (a validation each), at most and at least
MAX_EPOCHS = 30
MIN_EPOCHS = 6
#: cost model: seconds per (sample × convolved patch point × solver iteration) of one training
#: step on 2 CPU cores of the reference model (ConvLSTM solver of 12 channels and linear EOF
#: prior, first-order unrolled gradients; a time window folded into channels is not counted),
#: validation included. From the year SST OSSE (11 steps folded, 48 × 48, batch 16, K ramped
#: to 6): 324 steps in 43 s on 2 unloaded cores. The hidden width and the prior's
#: ``training_cost`` (the U-Net: 2) scale it
SECONDS_PER_POINT_ITER = 0.9e-6
#: hidden width the cost model was measured at
COST_HIDDEN = 12


@dataclass(frozen=True)
class Work:
    """The fixed work of one automatic candidate."""

    epochs: int
    steps_per_epoch: int
    steps: int
    reason: str

    def card(self) -> dict:
        return asdict(self)


def seconds_per_step(patch_points: int, n_iter: int, hidden: int, batch_size: int,
                     cost: float = 1.0) -> float:
    """Planned seconds of one training step on 2 CPU cores (the fixed cost model): the solver
    runs on average about half of the final K over the curriculum, plus the prior's pass;
    ``cost`` is the prior's relative training cost."""
    iters = 1.0 + 0.5 * max(n_iter, 1)
    return (SECONDS_PER_POINT_ITER * batch_size * patch_points * iters
            * max(hidden, 1) / COST_HIDDEN * cost)


def plan_work(n_patches: int, *, patch_points: int, n_iter: int, hidden: int,
              batch_size: int, n_candidates: int, max_time: "float | None" = None,
              max_steps: int = 360, cost: float = 1.0) -> Work:
    """The steps and epochs of one candidate (see the module); ``cost``: the relative training
    cost of its prior (:attr:`~varda.core.components.Component.training_cost`)."""
    budget = DEFAULT_MAX_TIME if max_time is None else float(max_time)
    by_data = math.ceil(PASSES * n_patches / max(batch_size, 1))
    per_step = seconds_per_step(patch_points, n_iter, hidden, batch_size, cost)
    by_time = int(budget / max(n_candidates, 1) / per_step)
    steps = max(MIN_STEPS, min(by_data, by_time, max_steps))
    limit = min((by_data, "data size"), (by_time, "time budget"), (max_steps, "step cap"))
    epochs = max(MIN_EPOCHS, min(MAX_EPOCHS, steps // 4))
    spe = max(1, math.ceil(steps / epochs))
    reason = (f"{epochs} epochs x {spe} steps of {batch_size} patches ({n_patches} training "
              f"patches): {PASSES} passes = {by_data} steps, {budget:.0f} s budget / "
              f"{n_candidates} candidates at a planned {per_step:.3f} s per step = {by_time} "
              f"steps, cap {max_steps}; limited by the "
              f"{limit[1] if steps > MIN_STEPS else 'minimum'}")
    return Work(epochs=epochs, steps_per_epoch=spe, steps=epochs * spe, reason=reason)


def convolved_points(config: dict, patch_shape: "tuple[int, ...] | list[int]") -> int:
    """Points a convolution of the model runs over: the patch, less an axis folded into the
    channels (``{"type": "fold", "axis": a}`` solver or prior)."""
    points = int(math.prod(patch_shape))
    for part in (config.get("solver", {}), config.get("prior", {})):
        if isinstance(part, dict) and part.get("type") == "fold":
            return points // max(1, int(patch_shape[int(part.get("axis", 0))]))
    return points


def hidden_width(config: dict) -> int:
    """The largest ``hidden`` width in a model config (nested solver/prior parts), else 12."""
    found: list[int] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "hidden" and isinstance(v, int):
                    found.append(v)
                else:
                    walk(v)
    walk(config)
    return max(found, default=COST_HIDDEN)


__all__ = ["convolved_points", "hidden_width", "Work", "plan_work", "seconds_per_step",
           "DEFAULT_MAX_TIME", "PASSES", "MIN_STEPS", "SECONDS_PER_POINT_ITER"]
