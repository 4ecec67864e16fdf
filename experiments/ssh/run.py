"""SSH from nadir altimetry on a QG OSSE: DUACS-style OI vs weak-constraint QG 4D-Var.

    python -m experiments.ssh.run                 # the benchmark (see settings.py)
    python -m experiments.ssh.run --quick         # the same path on a tiny grid, seconds
    python -m experiments.ssh.run --cases perfect-4 --seeds 2000      # a part
    python -m experiments.ssh.run --merge experiments/ssh/runs/*.json # assemble the table

Writes ``results/ssh.json`` and ``results/ssh.md`` (``results/quick/`` for ``--quick``), and
with ``--figures`` the figures of one test case under ``docs/benchmarks/figures``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from experiments.ssh import report
from experiments.ssh.settings import (FULL, OCEANS, PRIOR_PHYSICS, QUICK, RESULTS_DIR, SATELLITES,
                                      SEEDS, THREADS, TUNE_SEED, WITHHELD)
from varda.baselines import duacs_oi
from varda.baselines.qg4dvar import qg_fourdvar
from varda.datasets.altimetry import Satellite, grid_tracks, sample_tracks
from varda.datasets.qg import MISSPECIFIED, make_qg_ssh
from varda.metrics import along_track_scores, nrmse_score, psd_scores


def make_case(ocean: str, n_sat: int, seed: int, cfg: dict
              ) -> tuple[xr.DataArray, xr.Dataset, xr.Dataset]:
    """Truth, along-track data and the withheld satellite's data of one OSSE (tracks seeded
    apart from the truth)."""
    physics = dict(MISSPECIFIED) if ocean == "misspecified" else {}
    truth = make_qg_ssh(cfg["n_days"], seed=seed, shape=cfg["shape"], dx=cfg["dx"],
                        spinup_days=cfg["spinup_days"], **physics)
    withheld = sample_tracks(truth, satellites=[Satellite(*WITHHELD)], seed=seed + 31)
    return truth, sample_tracks(truth, satellites=n_sat, seed=seed + 17), withheld


def scores(est: xr.DataArray, truth: xr.DataArray, withheld: xr.Dataset) -> dict:
    """RMSE, µ, σ, λx (km), λt (days); RMSE and λx along the withheld satellite's tracks."""
    n = nrmse_score(est, truth)
    at = along_track_scores(est, withheld)
    out = {"rmse": n.rmse, "mu": n.mu, "sigma": n.sigma, "at_rmse": at.rmse,
           "at_lambda_x_km": at.lambda_x_km}
    try:
        p = psd_scores(est, truth)
        out.update(lambda_x_km=p.lambda_x_km, lambda_t=p.lambda_t)
    except Exception as err:        # too short a record for the spectrum: say so in the table
        out.update(lambda_x_km=float("nan"), lambda_t=float("nan"), psd_error=str(err)[:80])
    return out


#: the scores of an error field kept in the results (varda.metrics.error_scores)
ERROR_KEYS = ("rmse", "mean_sigma", "coverage_1sigma", "coverage_2sigma", "crps_gain",
              "spread_skill_rank_correlation")


def error_calibration(oi: xr.Dataset, truth: xr.DataArray) -> dict:
    """How well the OI's posterior error (``ssh_error``, and ``ssh_error_calibrated`` with the
    ``calibrated_`` prefix) says how far its map is from the truth, on every grid point
    (coverage, CRPS gain over a constant σ, spread–skill)."""
    from varda.metrics import error_scores

    out = {}
    for name in ("ssh_error", "ssh_error_calibrated"):
        if name in oi:
            found = error_scores(oi.ssh, oi[name], truth)
            out.update({(k if name == "ssh_error" else f"calibrated_{k}"): found[k]
                        for k in ERROR_KEYS})
    out["error_scale"] = oi.attrs.get("error_scale")
    return out


def fourdvar(obs: xr.DataArray, oi: xr.Dataset, cfg: dict, factor: float, *, n_iter: int,
             spinup_iter: int) -> xr.DataArray:
    """QG 4D-Var from the OI, with the OI's noise and posterior error as its statistics."""
    return qg_fourdvar(obs, oi.ssh, **PRIOR_PHYSICS, model_error_factor=factor,
                       obs_error_std=oi.attrs["noise_std"],
                       first_guess_error_std=float(np.sqrt((oi.ssh_error ** 2).mean())),
                       window=cfg["window"], n_iter=n_iter, spinup_iter=spinup_iter,
                       n_substeps=cfg["n_substeps"])


def _state_control(obs: xr.DataArray, oi: xr.Dataset, cfg: dict) -> xr.DataArray:
    """QG 4D-Var over the daily states (white model error, λ from the error ratio)."""
    return qg_fourdvar(obs, oi.ssh, **PRIOR_PHYSICS, control="state",
                       error_ratio=cfg["state_error_ratio"], window=cfg["window"],
                       n_iter=cfg["state_iter"], n_substeps=cfg["n_substeps"])


def map_case(truth: xr.DataArray, tracks: xr.Dataset, withheld: xr.Dataset, cfg: dict, *,
             factor: float, keep: bool = False,
             methods: "tuple[str, ...]" = ("qg4dvar", "qg4dvar_k20", "qg4dvar_state")) -> dict:
    """The OI and ``methods`` on one case: scores, wall times, cost evaluations (and maps)."""
    obs = grid_tracks(tracks, truth)
    t0 = time.perf_counter()
    oi = duacs_oi(tracks, truth)
    rows = {"oi": {**scores(oi.ssh, truth, withheld), "seconds": time.perf_counter() - t0,
                   "error": error_calibration(oi, truth)}}
    maps = {"oi": oi.ssh}
    spin_k, iter_k = cfg["k_iter"]
    runs = {"qg4dvar": (cfg["lbfgs_iter"], cfg["spinup_iter"]), "qg4dvar_k20": (iter_k, spin_k),
            "qg4dvar_state": (cfg["state_iter"], 0)}
    for name in methods:
        n_iter, spin = runs[name]
        t0 = time.perf_counter()
        x = (_state_control(obs, oi, cfg) if name == "qg4dvar_state"
             else fourdvar(obs, oi, cfg, factor, n_iter=n_iter, spinup_iter=spin))
        rows[name] = {**scores(x, truth, withheld), "seconds": time.perf_counter() - t0,
                      "cost_evaluations": x.attrs["cost_evaluations_per_window"],
                      "iterations": n_iter + spin}
        maps[name] = x
    for r in rows.values():
        r["rmse_ratio"] = r["rmse"] / rows["oi"]["rmse"]
        r["at_rmse_ratio"] = r["at_rmse"] / rows["oi"]["at_rmse"]
    return {"rows": rows, "maps": maps, "obs": obs} if keep else {"rows": rows}


def tune(cfg: dict) -> tuple[float, dict]:
    """The model-error factor chosen on the tuning seed (perfect ocean, 4 nadirs) by RMSE."""
    truth, tracks, _ = make_case("perfect", 4, TUNE_SEED, cfg)
    obs = grid_tracks(tracks, truth)
    oi = duacs_oi(tracks, truth)
    found = {}
    for r in cfg["factors"]:
        x = fourdvar(obs, oi, cfg, r, n_iter=cfg["lbfgs_iter"], spinup_iter=cfg["spinup_iter"])
        found[str(r)] = float(np.sqrt(((x - truth) ** 2).mean()))
    best = min(cfg["factors"], key=lambda r: found[str(r)])
    return float(best), found


def main(argv: "list[str] | None" = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m experiments.ssh.run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes (seconds); numbers mean nothing")
    ap.add_argument("--cases", nargs="+", default=None, metavar="OCEAN-NSAT",
                    help="e.g. perfect-4 misspecified-2 (default: all)")
    ap.add_argument("--seeds", nargs="+", type=int, default=None, help=f"default {SEEDS}")
    ap.add_argument("--model-error-factor", type=float, default=None,
                    help="skip the tuning and use this model-error factor")
    ap.add_argument("--out", type=Path, default=None, help="results JSON")
    ap.add_argument("--merge", nargs="+", type=Path, default=None, help="merge part files")
    ap.add_argument("--figures", action="store_true", help="figures of the first case and seed")
    ap.add_argument("--methods", nargs="*", default=["qg4dvar", "qg4dvar_k20", "qg4dvar_state"],
                    help="besides the OI (default: all; none: the OI alone)")
    args = ap.parse_args(argv)
    torch.set_num_threads(THREADS)
    out_dir = RESULTS_DIR / "quick" if args.quick else RESULTS_DIR
    if args.merge:
        parts = [json.loads(p.read_text()) for p in args.merge]
        merged = {"settings": parts[0]["settings"], "factor": parts[0]["factor"],
                  "tuning": parts[0].get("tuning"), "cases": {}}
        for p in parts:
            for case, seeds in p["cases"].items():
                for seed, rows in seeds.items():
                    merged["cases"].setdefault(case, {}).setdefault(seed, {}).update(rows)
        report.write(merged, out_dir)
        return 0
    cfg = QUICK if args.quick else FULL
    cases = args.cases or [f"{o}-{n}" for o in OCEANS for n in SATELLITES]
    seeds = args.seeds or (SEEDS[:1] if args.quick else SEEDS)
    if args.model_error_factor is None:
        factor, tuning = tune(cfg)
    else:
        factor, tuning = args.model_error_factor, None
    print(f"model-error factor {factor} (tuning: {tuning})", flush=True)
    result: dict = {"settings": {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()},
                    "factor": factor, "tuning": tuning, "cases": {}}
    for case in cases:
        ocean, n_sat = case.rsplit("-", 1)
        for seed in seeds:
            truth, tracks, withheld = make_case(ocean, int(n_sat), seed, cfg)
            want = args.figures and case == cases[0] and seed == seeds[0]
            res = map_case(truth, tracks, withheld, cfg, factor=factor, keep=want,
                           methods=tuple(args.methods))
            result["cases"].setdefault(case, {})[str(seed)] = res["rows"]
            print(case, seed, {m: round(r["rmse_ratio"], 3) for m, r in res["rows"].items()},
                  flush=True)
            if want:
                report.figures(truth, tracks, res, case)
            out = args.out or (out_dir / "ssh.json")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(result, indent=1))      # after every case: partial use
    if args.out is None:
        report.write(result, out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
