"""How good is ``fill(..., error=True)``? Calibration of the error field on withheld points.

``python -m experiments.sst.error [--quick] [--only osse|eofs] [--ship]``

* OSSE: the shipped ``sst-osse`` model, calibrated self-supervised (held-out cloud-shaped
  observations, :func:`varda.calibrate`) on the cloudy observations of its own training OSSE
  (seed ``SHIP_SEED``), scored against the truth at every cloudy ocean point of the OSSEs of
  ``SEEDS`` (never seen by training or calibration). ``--ship`` writes that calibration into
  the packaged model card.
* eofs (real NOAA SST anomalies, own blob clouds): ``varda.train`` defaults per cloud seed
  (they calibrate themselves on held-out clouds of seed + 1), scored at the withheld
  clear-sky points (never seen by training, calibration or the fill).

Scores (:func:`varda.metrics.error_scores`): coverage of ±1σ / ±2σ, CRPS of N(fill, σ²) and its
gain over a constant σ = the fill's RMSE, spread–skill rank correlation over 10 bins of σ, and
the cost of ``error=True`` over a plain fill (timed side by side, alternating, best of two).
Writes ``results/error.json``, ``results/error.md`` and
``docs/benchmarks/figures/sst_error_reliability.png``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from experiments.sst import settings as S

KEYS = ("coverage_1sigma", "coverage_2sigma", "crps_gain", "spread_skill_rank_correlation",
        "cost_ratio")


def _timed(fn) -> tuple:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def cost_ratio(obs, model) -> tuple:
    """(error dataset, seconds of a plain fill, seconds with error=True): alternated, best of 2."""
    import varda

    plain, err = [], []
    ds = None
    for _ in range(2):
        plain.append(_timed(lambda: varda.fill(obs, model))[1])
        ds, t = _timed(lambda: varda.fill(obs, model, error=True))
        err.append(t)
    return ds, min(plain), min(err)


def score_case(ds, truth, scored, plain_s: float, err_s: float) -> dict:
    from varda.metrics import error_scores

    name = [v for v in ds.data_vars if not str(v).endswith("_error")][0]
    row = error_scores(ds[name], ds[f"{name}_error"], truth, scored)
    row.update(fill_s=round(plain_s, 2), fill_error_s=round(err_s, 2),
               cost_ratio=err_s / plain_s)
    return row


def osse_cases(seeds, size: str, log) -> tuple[dict, object]:
    import varda
    from varda.datasets.osse import make_sst_osse

    base = varda.load(S.SHIPPED_NAME)
    own = make_sst_osse(size, seed=S.SHIP_SEED, cloud_fraction=S.OSSE_CLOUDS)
    model, secs = _timed(lambda: varda.calibrate(base, own.obs, seed=S.SHIP_SEED + 1))
    log(f"calibrated {S.SHIPPED_NAME} on OSSE seed {S.SHIP_SEED} in {secs:.0f} s: "
        f"{model.meta['model_card']['error_calibration']}")
    rows = {}
    for seed in seeds:
        o = make_sst_osse(size, seed=seed, cloud_fraction=S.OSSE_CLOUDS)
        scored = (~o.mask) & (~o.land) & o.mask.any("time")
        ds, plain_s, err_s = cost_ratio(o.obs, model)
        rows[str(seed)] = score_case(ds, o.truth, scored, plain_s, err_s)
        log(f"osse seed {seed}: " + _line(rows[str(seed)]))
    return rows, model


def eofs_cases(seeds, train_options: dict, log, models: "str | None" = None) -> dict:
    import varda
    from experiments.sst.run import eofs_case
    from varda.xr.calibrate import calibrate_trained

    rows = {}
    for seed in seeds:
        truth, obs, scored = eofs_case(seed)
        if models:   # trained earlier by varda.train(obs, seed=seed): calibrated as it does
            model, secs = _timed(lambda: calibrate_trained(
                varda.load(f"{models}/eofs{seed}.json"), obs, seed=seed + 1))
        else:
            model, secs = _timed(lambda: varda.train(obs, seed=seed, progress=False,
                                                     **train_options))
        ds, plain_s, err_s = cost_ratio(obs, model)
        rows[str(seed)] = score_case(ds, truth, scored, plain_s, err_s)
        rows[str(seed)]["train_s"] = round(secs, 1)
        log(f"eofs seed {seed}: " + _line(rows[str(seed)]))
    return rows


def _line(r: dict) -> str:
    return (f"±1σ {100 * r['coverage_1sigma']:.1f} %, ±2σ {100 * r['coverage_2sigma']:.1f} %, "
            f"CRPS {r['crps']:.4f} vs {r['crps_constant_sigma']:.4f} constant σ "
            f"(gain {100 * r['crps_gain']:.1f} %), spread–skill ρ "
            f"{r['spread_skill_rank_correlation']:.2f}, cost × {r['cost_ratio']:.2f}")


def summary(cases: dict) -> dict:
    """Mean [min, max] over seeds of every key score, per case."""
    out = {}
    for kind, rows in cases.items():
        out[kind] = {k: {"mean": float(np.mean([r[k] for r in rows.values()])),
                         "min": float(np.min([r[k] for r in rows.values()])),
                         "max": float(np.max([r[k] for r in rows.values()]))} for k in KEYS}
    return out


def markdown(results: dict) -> str:
    names = {"coverage_1sigma": "±1σ coverage (target 68 ± 5 %)",
             "coverage_2sigma": "±2σ coverage (target 95 ± 3 %)",
             "crps_gain": "CRPS gain over constant σ = RMSE (target ≥ 10 %)",
             "spread_skill_rank_correlation": "spread–skill rank correlation (target ≥ 0.8)",
             "cost_ratio": "time of error=True / plain fill (target ≤ 2)"}
    lines = [f"Command: `{results['command']}`; seeds {results['seeds']}; mean [min, max] over "
             "seeds.", "", "| score | " + " | ".join(results["summary"]) + " |",
             "|---|" + "---|" * len(results["summary"])]
    for k in KEYS:
        pct = k != "spread_skill_rank_correlation" and k != "cost_ratio"
        cells = []
        for kind in results["summary"]:
            s = results["summary"][kind][k]
            f = (lambda x: f"{100 * x:.1f} %") if pct else (lambda x: f"{x:.2f}")
            cells.append(f"{f(s['mean'])} [{f(s['min'])}, {f(s['max'])}]")
        lines.append(f"| {names[k]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def figure(cases: dict, path) -> None:
    """The reliability diagram of every case and seed."""
    from varda.metrics import reliability_figure

    curves = {f"{kind} seed {s}": r for kind, rows in cases.items() for s, r in rows.items()}
    reliability_figure(curves, path, units="°C", title="SST: fill RMSE against predicted σ")


def report() -> int:
    """Combine the per-case results (``--only osse`` and ``--only eofs`` runs)."""
    parts = [json.loads((S.RESULTS_DIR / f"error_{k}.json").read_text()) for k in ("osse", "eofs")]
    cases = {k: v for part in parts for k, v in part["cases"].items()}
    results = {"command": " and ".join(f"`{p['command']}`" for p in parts).strip("`"),
               "seeds": parts[0]["seeds"], "osse_size": parts[0]["osse_size"], "cases": cases,
               "summary": summary(cases)}
    (S.RESULTS_DIR / "error.json").write_text(json.dumps(results, indent=1))
    (S.RESULTS_DIR / "error.md").write_text(markdown(results))
    figure(cases, S.FIGURES_DIR / "sst_error_reliability.png")
    print(markdown(results))
    return 0


def ship(model) -> None:
    """Write ``model``'s calibration into the packaged ``sst-osse`` card (weights unchanged)."""
    path = S.PRETRAINED_DIR / f"{S.SHIPPED_NAME}.json"
    doc = json.loads(path.read_text())
    doc["config"]["meta"]["calibration"] = model.meta["calibration"]
    card = model.meta["model_card"]["error_calibration"]
    card["command"] = "python -m experiments.sst.error --only osse --ship"
    doc["config"]["meta"]["model_card"]["error_calibration"] = card
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def main(argv=None) -> int:
    import torch

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="tiny OSSE, one seed, few epochs")
    p.add_argument("--only", choices=("osse", "eofs"), default=None)
    p.add_argument("--seeds", type=int, nargs="+", default=None)
    p.add_argument("--models", default=None, metavar="DIR",
                   help="eofs: load DIR/eofs<seed>.json (saved varda.train(obs, seed=seed) "
                        "models) and calibrate them as varda.train does, instead of training")
    p.add_argument("--report", action="store_true",
                   help="only combine results/error_osse.json and error_eofs.json (runs with "
                        "--only) into results/error.md and the reliability figure")
    p.add_argument("--ship", action="store_true", help="write the OSSE calibration into the "
                                                       f"packaged {S.SHIPPED_NAME!r} card")
    args = p.parse_args(argv)
    if args.report:
        return report()
    torch.set_num_threads(S.THREADS)
    seeds = S.QUICK["seeds"] if args.quick else tuple(args.seeds or S.SEEDS)
    size = S.QUICK["osse_size"] if args.quick else S.OSSE_SIZE
    opts = S.QUICK["train_options"] if args.quick else S.TRAIN_OPTIONS
    out_dir = S.RESULTS_DIR / "quick" if args.quick else S.RESULTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    cases: dict = {}
    model = None
    if args.only in (None, "osse"):
        cases["osse"], model = osse_cases(seeds, size, print)
    if args.only in (None, "eofs"):
        cases["eofs"] = eofs_cases(seeds, opts, print, args.models)
    results = {"command": "python -m experiments.sst.error " + " ".join(
        sys.argv[1:] if argv is None else argv), "seeds": list(seeds), "osse_size": size,
        "cases": cases, "summary": summary(cases)}
    stem = "error" + (f"_{args.only}" if args.only else "")
    (out_dir / f"{stem}.json").write_text(json.dumps(results, indent=1))
    (out_dir / f"{stem}.md").write_text(markdown(results))
    if not args.quick and not args.only:   # a part run: --report draws the combined figure
        figure(cases, S.FIGURES_DIR / f"sst_{stem}_reliability.png")
    if args.ship and model is not None:
        ship(model)
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
