"""Model choice: the solver iteration count K a trained model keeps, the candidate
:func:`varda.train` returns, and what its card records of both."""
from __future__ import annotations

import time

from varda.core.model import FillDefaults, VarModel
from varda.core.trainer import evaluate_mse, prepare_data


def sweep_n_iter(m: VarModel, val: tuple, holdout, seed: int) -> dict[int, float]:
    """Validation MSE (normalised) of the trained model at every K from 0 to ``m.n_iter``."""
    x, y, mk = prepare_data(m, *val)
    return {k: evaluate_mse(m, x, y, mk, n_iter=k, holdout=holdout, seed=seed, batch_size=16)
            for k in range(m.n_iter + 1)}


def choose_n_iter(m: VarModel, history: list[dict], val: "tuple | None", holdout,
                  seed: int) -> None:
    """Set ``m.n_iter`` to the K the kept (best-epoch) weights were validated at, then, with a
    validation set, to the K from 0 to that one that validates best (0: the background or first
    guess alone); ``m.meta["training"]`` records both choices."""
    tr = m.meta["training"]
    best_k = history[tr["best_epoch"] - 1]["n_iter"] if history else m.n_iter
    if best_k != m.n_iter:
        tr["n_iter_configured"] = m.n_iter
        m.n_iter = int(best_k)
    if val is None:
        return
    sweep = sweep_n_iter(m, val, holdout, seed)
    k_best = min(sweep, key=lambda k: (sweep[k], k))
    tr["val_mse_by_n_iter"] = {str(k): round(v, 6) for k, v in sweep.items()}
    if k_best != m.n_iter:
        tr["n_iter_trained"] = m.n_iter
        m.n_iter = int(k_best)
    tr["best_val_mse"] = sweep[k_best]


def candidate_result(m: VarModel) -> dict:
    """A trained candidate's line in the model card's comparison."""
    tr = m.meta["training"]
    return {"val_mse": float(tr["best_val_mse"]), "n_iter": m.n_iter,
            "epochs_run": tr["epochs_run"], "stop_reason": tr["stop_reason"],
            "wall_time_s": tr["wall_time_s"],
            "n_parameters": int(sum(p.numel() for p in m.parameters()))}


def best_candidate(results: dict[str, dict]) -> str:
    """The candidate with the lowest validation error (the first listed on a tie)."""
    return min(results, key=lambda k: results[k]["val_mse"])


def record_choice(m: VarModel, *, results: dict[str, dict], chosen: str, t_start: float,
                  auto_config: "dict | None", variable: str, supervised: bool,
                  seed: int) -> None:
    """Write the comparison, the fill limits (``n_iter_max`` = the K kept) and defaults (keep
    observed values), and the model card of the chosen model."""
    auto = auto_config is not None
    tr = m.meta["training"]
    tr.update({"candidates": results, "chosen": chosen,
               "total_wall_time_s": round(time.perf_counter() - t_start, 2)})
    if auto_config is not None:
        tr["auto_config"] = auto_config
    m.n_iter_max = int(m.n_iter)
    if m.fill_defaults is None:
        m.fill_defaults = FillDefaults(keep_observed=True)
    card = m.meta.setdefault("model_card", {})
    card.update({
        "variable": variable, "trained_with": "varda.train",
        "method": ("automatic: " if auto else "") + chosen,
        "validation": (f"{'supervised' if supervised else 'self-supervised'}; separate "
                       "time blocks; held-out observations hidden by clouds borrowed from "
                       "other times" if not supervised else "separate time blocks, truth"),
        "validation_mse_normalised": {k: round(v["val_mse"], 5) for k, v in results.items()},
        "n_iter": int(m.n_iter), "stop_reason": tr["stop_reason"]})
    card.setdefault("command", f"varda.train(da{'' if auto else ', model'}, seed={seed})")
