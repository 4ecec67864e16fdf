"""Train and score the rows of the MNIST benchmark (one group of rows and one seed per job).

Everything is seeded; the test images (8000–9999) are only reconstructed and scored here,
never used to train, tune or select (every choice is made on the validation images
7000–7999).
"""
from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from experiments.mnist import settings as S
from varda.baselines.dictionary import learn_dictionary
from varda.core import build_model, p_score
from varda.core.model import VarModel
from varda.core.trainer import fit
from varda.datasets.mnist import MnistSplit, degrade, mnist_split


# ---------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------
@dataclass
class Observed:
    """Truths, observations (NaN in the gaps) and masks, raw units, ``(N, 28, 28)``."""

    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    def head(self, n: "int | None") -> "Observed":
        return self if n is None else Observed(self.x[:n], self.y[:n], self.mask[:n])


@dataclass
class Data:
    split: MnistSplit
    train: Observed
    val: Observed
    test: Observed

    @property
    def mean(self) -> float:
        return self.split.mean

    @property
    def std(self) -> float:
        return self.split.std


def load_data(cfg: dict, data_dir: "str | Path" = S.DATA_DIR, *, seed: int = 0) -> Data:
    """The split and its observations. Validation and test observations use the fixed seeds
    of :data:`settings.PROTOCOL` (the same for every row and seed); training observations
    are ``train_copies`` draws per image, seeded by ``seed``."""
    p = S.PROTOCOL
    split = mnist_split(data_dir, n_train=cfg["n_train"])
    kw = dict(std=split.std, n_gaps=p["n_gaps"], size=p["gap_size"], noise_var=p["noise_var"])
    xs = np.concatenate([split.train] * p["train_copies"])
    y, m = degrade(xs, seed=10_000 + seed, **kw)
    yv, mv = degrade(split.val, seed=p["val_seed"], **kw)
    test = split.test[:cfg["n_test"]]
    yt, mt = degrade(split.test, seed=p["test_seed"], **kw)
    return Data(split, Observed(xs, y, m), Observed(split.val, yv, mv),
                Observed(test, yt[:len(test)], mt[:len(test)]))


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[:, None]


def fit_arrays(obs: Observed) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x, y, mask) tensors ``(N, 1, 28, 28)`` for :func:`varda.core.fit` (raw units)."""
    return _t(obs.x), _t(np.nan_to_num(obs.y)), _t(obs.mask)


# ---------------------------------------------------------------------------------------
# scores (normalised units: MSE / std² of the training images)
# ---------------------------------------------------------------------------------------
def scores(x_hat: np.ndarray, obs: Observed, std: float) -> dict:
    """R-score (whole image) and I-score (gaps) as MSE in normalised units."""
    err2 = ((np.asarray(x_hat, np.float64) - obs.x) / std) ** 2
    gaps = ~obs.mask
    return {"r_score": float(err2.mean()),
            "i_score": float(err2[gaps].mean()) if gaps.any() else float("nan")}


@torch.no_grad()
def reconstruct(model: VarModel, obs: Observed, *, n_iter: "int | None" = None,
                batch_size: int = 250) -> np.ndarray:
    """Fill ``obs`` with ``model`` in raw units; ``(N, 28, 28)``."""
    model.eval()
    y, m = _t(np.nan_to_num(obs.y)), _t(obs.mask)
    out = [model.reconstruct(y[s:s + batch_size], m[s:s + batch_size], n_iter=n_iter)
           for s in range(0, len(y), batch_size)]
    return torch.cat(out)[:, 0].numpy()


def model_p_score(model: VarModel, x: np.ndarray, mean: float, std: float,
                  batch_size: int = 500) -> float:
    """NMSE of x − Φ(x) on true images (normalised units)."""
    z = _t((x - mean) / std)
    total = sum(p_score(model.prior, z[s:s + batch_size], scale=1.0) * len(z[s:s + batch_size])
                for s in range(0, len(z), batch_size))
    return float(total / len(z))


# ---------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------
def model_config(prior: str, solver: str, n_iter: int, *, second_order: bool = False,
                 grad_iters: "int | None" = None) -> dict:
    """A :func:`varda.core.build_model` config for 28 × 28 images."""
    shape = [1, *S.SHAPE]
    priors = {
        "pca": {"type": "pca", "shape": shape, "n_components": S.PCA_COMPONENTS},
        "ae": {"type": "ae", "shape": shape, **S.AE},
        "unet": {"type": "unet", "ndim": 2, **S.UNET},
        "unet_blind": {"type": "unet", "ndim": 2, **S.UNET_BLIND},
    }
    solvers = {
        "fsgd": {"type": "fsgd", "step": 0.1, "learn_step": True},
        "lstm": {"type": "lstm", "ndim": 2, "hidden": S.LSTM_HIDDEN},
    }
    return {"axes": list(S.AXES), "patch_shape": list(S.SHAPE), "prior": priors[prior],
            "solver": solvers[solver], "n_iter": n_iter, "second_order": second_order,
            "grad_iters": grad_iters}


def new_model(prior: str, solver: str, data: Data, cfg: dict, **kw) -> VarModel:
    model = build_model(model_config(prior, solver, cfg["n_iter"], **kw))
    return model.set_normalization(data.mean, data.std)


def with_solver(model: VarModel, solver: str, cfg: dict, **kw) -> VarModel:
    """A copy of ``model`` (prior and cost weights) with a fresh solver."""
    prior_cfg = model.config["prior"]
    new = build_model({**model_config(prior_cfg["type"], solver, cfg["n_iter"], **kw),
                       "prior": prior_cfg,
                       "norm": {"mean": model.norm_mean, "std": model.norm_std}})
    new.prior.load_state_dict(model.prior.state_dict())
    new.cost.load_state_dict(model.cost.state_dict())
    return new


def n_params(module: torch.nn.Module) -> int:
    return int(sum(p.numel() for p in module.parameters()))


def train(model: VarModel, data: Data, cfg: dict, part: str, *, mode: str, seed: int,
          val_n: "int | None" = None) -> dict:
    """Run :func:`varda.core.fit` with the settings ``cfg[part]``; returns a summary."""
    c = cfg[part]
    val = fit_arrays(data.val.head(val_n or cfg["n_val_select"]))
    schedule = c.get("schedule")
    if schedule is not None:
        schedule = {int(k): min(int(v), cfg["n_iter"]) for k, v in schedule.items()}
    t0 = time.perf_counter()
    hist = fit(model, *fit_arrays(data.train), val=val, epochs=c["epochs"],
               batch_size=c["batch_size"], lr=c["lr"], mode=mode, n_iter_schedule=schedule,
               max_time=c["max_time"], steps_per_epoch=c["steps_per_epoch"],
               lr_final=c.get("lr_final"), seed=seed, progress=False,
               device=cfg.get("device", "cpu"),
               callback=lambda e: print(f"[{part} s{seed}] epoch {e['epoch']} K={e['n_iter']} "
                                        f"loss {e['train_loss']:.4f} val {e['val_mse']:.4f} "
                                        f"t {e['time_s']:.0f}s", flush=True)
               if cfg.get("verbose") else None)
    wall = time.perf_counter() - t0
    best = model.meta["training"]["best_epoch"]
    return {"part": part, "mode": mode, "train_time_s": round(wall, 1),
            "epochs_run": len(hist), "best_epoch": best,
            "steps": len(hist) * c["steps_per_epoch"],
            "stop": "max_time" if len(hist) < c["epochs"] else "epochs",
            "device": model.meta["training"]["device"],
            "val_mse_select": float(hist[best - 1]["val_mse"]) if best > 0 else None,
            "lambda": float(model.cost.lam.detach())}


def choose_fsgd_step(model: VarModel, data: Data, cfg: dict) -> dict:
    """Set the FSGD step to the best of ``cfg["fsgd"]["step_grid"]`` on validation images
    (too large a step diverges on a learned energy); returns the tried steps' R-scores."""
    obs = data.val.head(cfg["fsgd"]["n_val_step"])
    tried = {}
    for step in cfg["fsgd"]["step_grid"]:
        with torch.no_grad():
            model.solver.log_step.fill_(math.log(step))
        r = scores(reconstruct(model, obs), obs, data.std)["r_score"]
        tried[step] = r if math.isfinite(r) else float("inf")
    best = min(tried, key=tried.get)
    with torch.no_grad():
        model.solver.log_step.fill_(math.log(best))
    return {"step_tried": {str(k): v for k, v in tried.items()}, "step_chosen": best}


def train_fsgd(model: VarModel, data: Data, cfg: dict, seed: int) -> dict:
    """Choose the FSGD step on validation, then train it (and λ if it is trainable)."""
    chosen = choose_fsgd_step(model, data, cfg)
    info = train(model, data, cfg, "fsgd", mode="solver", seed=seed)
    return {**info, **chosen, "step": float(model.solver.log_step.detach().exp())}


def score_model(model: VarModel, data: Data, cfg: dict, *, n_test: "int | None" = None) -> dict:
    """Validation and test scores of a trained model, and its P-score on the test truths
    (the first ``n_test`` test images; default all of the mode's)."""
    t0 = time.perf_counter()
    test_obs = data.test.head(n_test)
    test = scores(reconstruct(model, test_obs), test_obs, data.std)
    eval_s = time.perf_counter() - t0
    val_obs = data.val.head(cfg["n_val_score"])
    val = scores(reconstruct(model, val_obs), val_obs, data.std)
    return {**test, "p_score": model_p_score(model, test_obs.x, data.mean, data.std),
            "n_test": len(test_obs),
            "val_r_score": val["r_score"], "val_i_score": val["i_score"],
            "eval_time_s": round(eval_s, 2), "n_iter": model.n_iter,
            "n_params_prior": n_params(model.prior), "n_params_solver": n_params(model.solver),
            "lambda": float(model.cost.lam.detach())}


# ---------------------------------------------------------------------------------------
# groups of rows
# ---------------------------------------------------------------------------------------
def run_zero(data: Data, cfg: dict, seed: int, out: Path) -> dict:
    x_hat = np.where(data.test.mask, data.test.y, data.mean)
    v = data.val.head(cfg["n_val_score"])
    val = scores(np.where(v.mask, v.y, data.mean), v, data.std)
    return {"zero_fill": {**scores(x_hat, data.test, data.std), "p_score": None,
                          "val_r_score": val["r_score"], "train_time_s": 0.0}}


def run_dict(data: Data, cfg: dict, seed: int, out: Path) -> dict:
    """Rows dict_omp, dict_lasso: one dictionary, the coder settings chosen on validation."""
    c = cfg["dict"]
    z = data.split.normalize
    t0 = time.perf_counter()
    d = learn_dictionary(z(data.split.train), n_atoms=c["n_atoms"], alpha=c["alpha"],
                         max_iter=c["max_iter"], batch_size=c["batch_size"], seed=seed)
    learn_s = time.perf_counter() - t0
    nv = c["n_val_tune"]
    yv, mv = z(data.val.y[:nv]), data.val.mask[:nv]
    xv = z(data.val.x[:nv])
    rows = {}
    for row, algo, key, grid in (("dict_omp", "omp", "n_nonzero", c["omp_nonzero"]),
                                 ("dict_lasso", "lasso_cd", "alpha", c["lasso_alpha"])):
        t1 = time.perf_counter()
        tried = {}
        for v in grid:
            coder = d.with_coder(algo, **{key: v})
            tried[v] = float(np.mean((coder.inpaint(yv, mv, n_iter=c["n_iter"]) - xv) ** 2))
        best = min(tried, key=tried.get)
        coder = d.with_coder(algo, **{key: best})
        tune_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        est = coder.inpaint(z(data.test.y), data.test.mask, n_iter=c["n_iter"])
        eval_s = time.perf_counter() - t2
        x_hat = est * data.std + data.mean
        xt = z(data.test.x)
        rows[row] = {**scores(x_hat, data.test, data.std),
                     "p_score": float(np.mean((coder.project(xt) - xt) ** 2)),
                     "val_r_score": tried[best], "chosen": {key: best},
                     "val_tried": {str(k): v for k, v in tried.items()},
                     "train_time_s": round(learn_s + tune_s, 1), "eval_time_s": round(eval_s, 2),
                     "n_atoms": c["n_atoms"], "n_iter": c["n_iter"]}
    return rows


def run_pca(data: Data, cfg: dict, seed: int, out: Path) -> dict:
    torch.manual_seed(seed)
    # second order: λ reaches the loss only through ∇ₓU, so a first-order solver training
    # would leave λ at its initial value (cheap here: the PCA prior is linear)
    base = new_model("pca", "fsgd", data, cfg, second_order=True)
    t0 = time.perf_counter()
    base.prior.fit(_t(data.split.normalize(data.split.train)))
    pca_s = time.perf_counter() - t0
    rows = {}
    fsgd = base
    info = train_fsgd(fsgd, data, cfg, seed)
    rows["pca_fsgd"] = {**score_model(fsgd, data, cfg), "training": info,
                        "train_time_s": round(pca_s + info["train_time_s"], 1)}
    lstm = with_solver(base, "lstm", cfg, second_order=True)
    info = train(lstm, data, cfg, "lstm", mode="solver", seed=seed)
    rows["pca_lstm"] = {**score_model(lstm, data, cfg), "training": info,
                        "train_time_s": round(pca_s + info["train_time_s"], 1)}
    _save(fsgd, out, "pca_fsgd", seed)
    _save(lstm, out, "pca_lstm", seed)
    return rows


def run_ae(data: Data, cfg: dict, seed: int, out: Path) -> dict:
    torch.manual_seed(seed)
    base = new_model("ae", "fsgd", data, cfg, second_order=True)
    pre = train(base, data, cfg, "prior_pretrain", mode="prior", seed=seed)
    rows = {}
    for row, solver, part, mode in (("ae_fsgd", "fsgd", "fsgd", "solver"),
                                    ("ae_lstm", "lstm", "lstm", "solver"),
                                    ("ae_joint", "lstm", "joint", "joint")):
        model = with_solver(base, solver, cfg, second_order=True)
        torch.manual_seed(seed)
        info = (train_fsgd(model, data, cfg, seed) if solver == "fsgd"
                else train(model, data, cfg, part, mode=mode, seed=seed))
        rows[row] = {**score_model(model, data, cfg), "training": info, "pretrain": pre,
                     "train_time_s": round(pre["train_time_s"] + info["train_time_s"], 1)}
        _save(model, out, row, seed)
    return rows


def run_unet_proj(data: Data, cfg: dict, seed: int, out: Path) -> dict:
    torch.manual_seed(seed)
    model = new_model("unet", "lstm", data, cfg)
    pre = train(model, data, cfg, "prior_pretrain", mode="prior", seed=seed)
    info = train(model, data, cfg, "lstm", mode="solver", seed=seed)
    _save(model, out, "unet_proj_lstm", seed)
    return {"unet_proj_lstm": {**score_model(model, data, cfg), "training": info, "pretrain": pre,
                               "train_time_s": round(pre["train_time_s"] + info["train_time_s"], 1)}}


def run_unet_cold(data: Data, cfg: dict, seed: int, out: Path) -> dict:
    """The paper-faithful joint row: the U-Net trained with the solver from scratch."""
    c = cfg["unet_joint_cold"]
    torch.manual_seed(seed)
    model = new_model("unet", "lstm", data, cfg, second_order=c["second_order"],
                      grad_iters=c["grad_iters"])
    info = train(model, data, cfg, "unet_joint_cold", mode="joint", seed=seed)
    _save(model, out, "unet_joint_cold", seed)
    return {"unet_joint_cold": {**score_model(model, data, cfg), "training": info,
                                "train_time_s": info["train_time_s"]}}


def run_unet_joint(data: Data, cfg: dict, seed: int, out: Path) -> dict:
    """The blind-spot U-Net pre-trained as a predictor on the true images, then trained
    jointly with the ConvLSTM; then FSGD on the learned energy (Fig. 1)."""
    c = cfg["unet_joint"]
    torch.manual_seed(seed)
    model = new_model("unet_blind", "lstm", data, cfg, second_order=c["second_order"],
                      grad_iters=c["grad_iters"])
    pre = train(model, data, cfg, "blind_pretrain", mode="prior", seed=seed)
    info = train(model, data, cfg, "unet_joint", mode="joint", seed=seed)
    rows = {"unet_joint": {**score_model(model, data, cfg), "training": info, "pretrain": pre,
                           "train_time_s": round(pre["train_time_s"] + info["train_time_s"], 1)}}
    _save(model, out, "unet_joint", seed)
    return rows


def run_unet_fsgd(data: Data, cfg: dict, seed: int, out: Path) -> dict:
    """FSGD on the jointly learned energy of ``unet_joint`` (its prior and λ frozen, the step
    chosen on validation and trained): the FSGD pathway of Fig. 1. Needs that row's model."""
    joint = load_model(out, "unet_joint", seed)
    fsgd = with_solver(joint, "fsgd", cfg)
    fsgd.cost.log_lambda.requires_grad_(False)
    info = train_fsgd(fsgd, data, cfg, seed)
    _save(fsgd, out, "unet_joint_fsgd", seed)
    return {"unet_joint_fsgd": {**score_model(fsgd, data, cfg, n_test=cfg["n_test_extra"]),
                                "training": info, "train_time_s": info["train_time_s"]}}


RUNNERS = {"unet_joint": run_unet_joint, "unet_fsgd": run_unet_fsgd, "unet_cold": run_unet_cold, "unet_proj": run_unet_proj, "ae": run_ae,
           "pca": run_pca, "dict": run_dict, "zero": run_zero}


def _save(model: VarModel, out: Path, row: str, seed: int) -> None:
    model.save(out / "models" / f"{row}-s{seed}")


def run_job(group: str, seed: int, quick: bool, data_dir: str, out: str,
            device: str = "cpu") -> dict:
    """One (group, seed) job, in its own process with one torch thread; writes
    ``parts/<group>-s<seed>.json`` under ``out`` and returns its rows. ``device``: where the
    learned parts train (``"cpu"``, ``"cuda"``, ``"auto"``…); scoring runs on the CPU."""
    torch.set_num_threads(1)
    cfg = S.mode_settings(quick)
    cfg["device"] = device
    cfg["verbose"] = not quick
    outp = Path(out)
    t0 = time.perf_counter()
    data = load_data(cfg, data_dir, seed=seed)
    rows = RUNNERS[group](data, cfg, seed, outp)
    doc = {"group": group, "seed": seed, "rows": rows,
           "job_time_s": round(time.perf_counter() - t0, 1)}
    part = outp / "parts" / f"{group}-s{seed}.json"
    part.parent.mkdir(parents=True, exist_ok=True)
    tmp = part.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=_json_default))
    tmp.replace(part)
    return doc


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, float) and math.isnan(o):
        return None
    raise TypeError(f"not JSON-able: {type(o)}")


def load_model(out: "str | Path", row: str, seed: int) -> VarModel:
    from varda.core.checkpoint import load
    return load(Path(out) / "models" / f"{row}-s{seed}")


def copy_model(model: VarModel) -> VarModel:
    return copy.deepcopy(model)
