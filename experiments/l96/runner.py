"""Run the rows of the Lorenz-96 table: train (or tune) each row, score it on the test split,
save the rows that are shipped as pretrained models."""
from __future__ import annotations

import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Callable

import torch

from experiments.l96.data import L96Benchmark, evaluate, load_benchmark, scores
from experiments.l96.models import bilinear_model, n_params, rk4_model, unet_model
from experiments.l96.report import jsonable
from experiments.l96.settings import PAPER, ROW_TITLES, ROWS, SETTINGS
from experiments.l96.training import (bayes_lambda, choose_test_iters, pretrain_prior,
                                      run_fourdvar, train_first_guess, tune_fsgd, train_stage)
from varda.core import distributed as ddp




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
        Path(out).write_text(json.dumps(strip(res), default=jsonable))


def hardware() -> dict:
    return {"machine": platform.machine(), "processor": platform.processor() or _cpu_model(),
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(),
            "note": "wall times measured on a possibly shared machine are upper bounds"}


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
            if cfg.get("first_guess"):
                res["first_guess_fit"] = train_first_guess(
                    model, bench, budget=cfg["fg_budget"], seed=tseed, log=log,
                    **cfg.get("fg_options", {}))
        else:
            model = bilinear_model(hidden=cfg["hidden"], n_iter=cfg["n_iter"],
                                   second_order=cfg["second_order"], mean=mean, std=std,
                                   lam=cfg.get("lam", 1.0), layout=cfg.get("layout", "fold"),
                                   split_grad=cfg.get("split_grad", False))
            mode = "joint"
        if cfg.get("prior_budget"):
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
        stages = [cfg] + ([{**cfg, **cfg["then"]}] if cfg.get("then") else [])
        trs = []
        for stage in stages:
            if stage is not cfg:
                log(f"[{row}] second stage: {cfg['then']}")
                model.n_iter = int(stage["n_iter"])
            trs.append(train_stage(model, bench, stage, mode=mode, seed=tseed, progress=progress,
                                    log=log))
        tr = {"train_wall_s": round(sum(t["train_wall_s"] for t in trs), 1),
              "epochs_run": sum(t["epochs_run"] for t in trs),
              "schedule": trs[-1]["schedule"], "history": [h for t in trs for h in t["history"]]}
        if ddp.world()[0] != 0:      # another rank of a data-parallel run: rank 0 goes on
            return res
        stages_s = sum(res.get(k, {}).get("wall_s", 0.0)       # training before the joint one
                       for k in ("first_guess_fit", "prior_pretrain"))
        res.update(train_wall_s=round(tr["train_wall_s"] + stages_s, 1),
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
        }, "training": model.meta.get("training", {}),
            "fill_defaults": {"keep_observed": False}, "n_iter_max": model.n_iter}
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
    under ``res['rows'][row]['_model']``)."""
    torch.set_num_threads(threads)
    return run_table(rows, size=size, seed=seed, log=log,
                     command=f"python -m experiments.l96.run --size {size} --seed {seed}")
