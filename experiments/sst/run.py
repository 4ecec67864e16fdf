"""Run the SST benchmark: ``python -m experiments.sst.run [--quick] [--only osse|eofs]``.

Writes ``results/sst.json`` and ``results/sst.md`` (``results/quick/`` with ``--quick``) and the
figures ``docs/benchmarks/figures/sst_*.png`` (not in quick mode). See :mod:`.settings`.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import numpy as np

from experiments.sst import settings as S


def eofs_case(seed: int):
    """(truth, obs, scored mask) on the eofs SST with blob clouds and withheld clear sky."""
    from varda.datasets.masks import cloud_masks
    from varda.datasets.sst import noaa_sst_anomalies

    da = noaa_sst_anomalies()
    land = da.isnull().all("time").values
    clear = cloud_masks(da.shape, coverage=S.EOFS_CLOUDS, seed=seed)
    # withhold EOFS_WITHHELD of the ocean among the clear points, in blobs
    frac = S.EOFS_WITHHELD / (1.0 - S.EOFS_CLOUDS)
    held = clear & ~cloud_masks(da.shape, coverage=frac, scale=2.0, seed=seed + 100)
    obs = da.where(clear & ~held & ~land)
    return da, obs, held & ~land


def baselines(obs, seed: int) -> dict:
    from varda.baselines import (
        climatology_fill,
        dineof,
        linear_time_fill,
        optimal_interpolation,
    )

    out = {}
    for name, fn in (("dineof", lambda: dineof(obs, seed=seed)),
                     ("oi", lambda: optimal_interpolation(obs)),
                     ("linear_time", lambda: linear_time_fill(obs)),
                     ("climatology", lambda: climatology_fill(obs))):
        t0 = time.perf_counter()
        out[name] = (fn(), time.perf_counter() - t0)
    return out


def score(fields: dict, truth, scored, spectral: bool) -> dict:
    from varda.metrics import effective_resolution, gradient_rmse, rmse

    out = {}
    for name, (f, secs) in fields.items():
        holes = scored & f.isnull()          # a method that leaves gaps is scored without them
        use = scored & ~holes
        row = {"rmse": rmse(f, truth, use), "time_s": round(secs, 1),
               "n_left_unfilled": int(holes.sum())}
        try:
            row["gradient_rmse"] = gradient_rmse(f, truth, use)
        except Exception as e:   # noqa: BLE001 - reported, not hidden
            row["gradient_rmse_error"] = str(e)
        if spectral:
            sc = effective_resolution(f.fillna(0.0), truth.fillna(0.0), dim="lon")
            row["lambda_x"] = float(sc.wavelength_cutoff)
            row["lambda_x_units"] = sc.units
            row["_spectral"] = sc
        out[name] = row
    return out


def run_case(kind: str, seed: int, size: str, train_options: dict, log) -> dict:
    import varda

    if kind == "osse":
        from varda.datasets.osse import make_sst_osse
        o = make_sst_osse(size, seed=seed, cloud_fraction=S.OSSE_CLOUDS)
        # cloudy ocean points; a pixel never observed in the whole record is land to every
        # method (NaN at every time step) and is not scored
        truth, obs = o.truth, o.obs
        scored = (~o.mask) & (~o.land) & o.mask.any("time")
    else:
        truth, obs, scored = eofs_case(seed)
    t0 = time.perf_counter()
    model = varda.train(obs, seed=seed, progress=False, **train_options)
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    filled = varda.fill(obs, model, keep_observed=True)
    fill_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    # the same model with no solver iteration: its background alone (what the learned part adds)
    background_only = varda.fill(obs, model, keep_observed=True, n_iter=0)
    fields = {"varda": (filled, fill_s),
              "varda_background": (background_only, time.perf_counter() - t0),
              **baselines(obs, seed)}
    rows = score(fields, truth, scored, spectral=(kind == "osse"))
    tr = model.meta["training"]
    rows["varda"].update({"train_s": round(train_s, 1), "chosen": tr.get("chosen"),
                          "candidates": tr.get("candidates"), "n_iter": model.n_iter,
                          "auto_config": tr.get("auto_config")})
    log(f"{kind} seed {seed}: " + ", ".join(f"{k} {v['rmse']:.3f}" for k, v in rows.items())
        + f" (train {train_s:.0f} s, fill {fill_s:.1f} s)")
    return {"rows": rows, "fields": fields, "truth": truth, "obs": obs, "model": model}


def main(argv=None) -> int:
    import torch

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="tiny sizes, one seed (a minute)")
    p.add_argument("--only", choices=("osse", "eofs"), default=None)
    p.add_argument("--seeds", type=int, nargs="+", default=None)
    p.add_argument("--size", default=None, choices=("tiny", "small", "year"),
                   help=f"OSSE size (default {S.OSSE_SIZE})")
    p.add_argument("--ship", action="store_true",
                   help=f"only train and write the shipped {S.SHIPPED_NAME!r} model (OSSE seed "
                        f"{S.SHIP_SEED}, varda.train defaults)")
    args = p.parse_args(argv)
    torch.set_num_threads(S.THREADS)
    if args.ship:
        return ship(args.size or S.OSSE_SIZE)
    seeds = S.QUICK["seeds"] if args.quick else tuple(args.seeds or S.SEEDS)
    size = S.QUICK["osse_size"] if args.quick else (args.size or S.OSSE_SIZE)
    opts = S.QUICK["train_options"] if args.quick else S.TRAIN_OPTIONS
    out_dir = S.RESULTS_DIR / "quick" if args.quick else S.RESULTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    kinds = [args.only] if args.only else ["osse", "eofs"]
    results: dict = {"command": "python -m experiments.sst.run " + " ".join(sys.argv[1:] if argv is None else argv),
                     "hardware": f"{platform.processor() or platform.machine()}, "
                                 f"{S.THREADS} torch threads (shared machine: times are upper bounds)",
                     "osse_size": size, "seeds": list(seeds), "cases": {}}
    last = {}
    for kind in kinds:
        for seed in seeds:
            res = run_case(kind, seed, size, opts, print)
            results["cases"].setdefault(kind, {})[str(seed)] = {
                k: {kk: vv for kk, vv in v.items() if not kk.startswith("_")}
                for k, v in res["rows"].items()}
            last[kind] = res
    from experiments.sst.report import figures, markdown
    results["summary"] = summary(results)
    stem = "sst" + "".join(f"_{k}" for k in ([args.only] if args.only else [])) + \
        ("" if size == S.OSSE_SIZE or args.only == "eofs" else f"_{size}")
    (out_dir / f"{stem}.json").write_text(json.dumps(results, indent=1, default=str))
    (out_dir / f"{stem}.md").write_text(markdown(results))
    if not args.quick:
        figures(last, S.FIGURES_DIR)
    print(markdown(results))
    return 0


def ship(size: str) -> int:
    """Train ``varda.train`` defaults on the OSSE of seed ``SHIP_SEED`` and write it into the
    package as ``sst-osse`` with its card (what ``varda demo`` uses)."""
    import varda
    from varda.datasets.osse import make_sst_osse

    o = make_sst_osse(size, seed=S.SHIP_SEED, cloud_fraction=S.OSSE_CLOUDS)
    t0 = time.perf_counter()
    model = varda.train(o.obs, seed=S.SHIP_SEED, **S.TRAIN_OPTIONS)
    train_s = time.perf_counter() - t0
    tr = model.meta["training"]
    card = model.meta.setdefault("model_card", {})
    card.update({
        "name": S.SHIPPED_NAME,
        "description": ("Gap filling of cloudy daily SST (varda.train defaults, self-supervised "
                        f"on the cloudy observations alone; chosen candidate {tr['chosen']!r}). "
                        "Input: (time, lat, lon) SST with NaN under clouds and on land; it fills "
                        "anomalies from an OI background (running climatology + local optimal "
                        "interpolation) computed from the input."),
        "command": f"python -m experiments.sst.run --ship --size {size}",
        "training_data": (f"varda.datasets.osse.make_sst_osse({size!r}, seed={S.SHIP_SEED}, "
                          f"cloud_fraction={S.OSSE_CLOUDS}): observations only, no truth"),
        "not_trained_on": f"the benchmark's OSSE seeds {list(S.SEEDS)} and the demo's",
        "train_time_s": round(train_s, 1), "hardware": platform.processor() or platform.machine(),
        "torch_threads": S.THREADS})
    S.PRETRAINED_DIR.mkdir(parents=True, exist_ok=True)
    model.save(S.PRETRAINED_DIR / S.SHIPPED_NAME)
    print(f"wrote {S.PRETRAINED_DIR / S.SHIPPED_NAME} ({train_s:.0f} s of training; chosen "
          f"{tr['chosen']}, validation {tr['candidates']})")
    return 0


def summary(results: dict) -> dict:
    """Per case and method: mean and spread (min, max) of the RMSE over seeds."""
    out: dict = {}
    for kind, by_seed in results["cases"].items():
        methods = next(iter(by_seed.values())).keys()
        for m in methods:
            r = np.array([by_seed[s][m]["rmse"] for s in by_seed])
            out.setdefault(kind, {})[m] = {"rmse_mean": float(r.mean()), "rmse_min": float(r.min()),
                                           "rmse_max": float(r.max()),
                                           "time_s_mean": float(np.mean([by_seed[s][m]["time_s"] for s in by_seed]))}
        best_base = min((v["rmse_mean"] for k, v in out[kind].items() if k in ("dineof", "oi", "linear_time")))
        out[kind]["_ratio_to_best_baseline"] = out[kind]["varda"]["rmse_mean"] / best_base
        out[kind]["_ratio_to_dineof"] = out[kind]["varda"]["rmse_mean"] / out[kind]["dineof"]["rmse_mean"]
        tt = [by_seed[s]["varda"].get("train_s", 0) for s in by_seed]
        out[kind]["_varda_train_s_mean"] = float(np.mean(tt))
    return out


if __name__ == "__main__":
    sys.exit(main())
