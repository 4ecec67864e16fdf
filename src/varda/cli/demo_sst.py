"""``varda demo sst`` (the default demo): fill a cloudy SST archive and compare with DINEOF,
optimal interpolation, linear interpolation in time and climatology.

Fixed work, no wall-clock cap: a seeded OSSE (sea-surface temperature with fronts stirred by
2-D turbulence, 70 % of the ocean under moving clouds; :mod:`varda.datasets.osse`) is filled
by a learned variational model — the shipped ``sst-osse`` model (trained by
``python -m experiments.sst.run --ship`` on an OSSE of another seed), or with ``--train`` a
model trained here by :func:`varda.train` on the cloudy observations alone (a fixed number of
epochs). The truth is used only to score. It writes the filled field as NetCDF with provenance
(:func:`varda.to_netcdf`), PNG maps, the training curve and the table, and says where.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

SHIPPED = "sst-osse"


def _baselines(obs, log) -> dict:
    from varda.baselines import (
        climatology_fill,
        dineof,
        linear_time_fill,
        optimal_interpolation,
    )

    out = {}
    for name, fn in (("DINEOF", lambda: dineof(obs, seed=0)),
                     ("optimal interpolation", lambda: optimal_interpolation(obs)),
                     ("linear interpolation in time", lambda: linear_time_fill(obs)),
                     ("climatology", lambda: climatology_fill(obs))):
        t0 = time.perf_counter()
        out[name] = (fn(), time.perf_counter() - t0)
        log(f"  {name}: {out[name][1]:.1f} s")
    return out


def _model(args, obs, log):
    import varda

    if args.train or SHIPPED not in varda.pretrained_names():
        why = "--train" if args.train else f"no shipped {SHIPPED!r} model"
        log(f"training with varda.train on the cloudy observations ({why}; fixed work: "
            f"{args.epochs} epochs per candidate)")
        t0 = time.perf_counter()
        options = {} if args.steps is None else {"steps_per_epoch": args.steps}
        model = varda.train(obs, epochs=args.epochs, seed=args.seed, progress=not args.quiet,
                            **options)
        return model, time.perf_counter() - t0, "trained here by varda.train"
    log(f"using the shipped model {SHIPPED!r} (trained on an OSSE of another seed; "
        "--train trains one here instead)")
    return varda.load(SHIPPED), 0.0, f"shipped model {SHIPPED!r}"


def _figures(out: Path, truth, obs, fields: dict, model, origin: str, day: int,
             sigma=None) -> list[Path]:
    """Maps of one day on longitude/latitude (truth, observations, fills, their errors and,
    when given, varda's predicted error σ beside them) and the training curve."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter

    paths = []
    t = truth.isel(time=day)
    panels = [("truth", t), ("observed", obs.isel(time=day))] + \
        [(k, v.isel(time=day)) for k, v in fields.items() if k in ("varda", "DINEOF")]
    lo, hi = float(np.nanpercentile(t, 1)), float(np.nanpercentile(t, 99))
    fig, axs = plt.subplots(2, 4, figsize=(17, 7), constrained_layout=True)
    for ax, (title, f) in zip(axs[0], panels):   # on longitude / latitude, with units
        f.plot.pcolormesh(ax=ax, x="lon", y="lat", vmin=lo, vmax=hi, cmap="RdYlBu_r",
                          add_colorbar=False)
        ax.set_title(title)
    fig.colorbar(axs[0, 0].collections[0], ax=axs[0, :].tolist(), label="SST (°C)", shrink=0.8)
    for ax, k in zip(axs[1, 1:3], ("varda", "DINEOF")):
        err = (fields[k].isel(time=day) - t).assign_attrs(units="°C")
        err.plot.pcolormesh(ax=ax, x="lon", y="lat", vmin=-1.5, vmax=1.5, cmap="RdBu_r",
                            add_colorbar=False)
        ax.set_title(f"{k} − truth")
    fig.colorbar(axs[1, 1].collections[0], ax=axs[1, 1:3].tolist(), label="error (°C)",
                 shrink=0.8)
    if sigma is not None:     # the error varda predicts, beside the error it makes
        s = sigma.isel(time=day).assign_attrs(units="°C")
        s.plot.pcolormesh(ax=axs[1, 0], x="lon", y="lat", vmin=0, vmax=1.5, cmap="magma_r",
                          add_colorbar=False)
        axs[1, 0].set_title("varda predicted error σ")
        fig.colorbar(axs[1, 0].collections[0], ax=axs[1, 0], label="σ (°C)", shrink=0.8)
    else:
        axs[1, 0].axis("off")
    axs[1, 3].axis("off")
    date = np.datetime_as_string(t.time.values, unit="D") if "time" in t.coords else f"day {day}"
    fig.suptitle(f"SST OSSE, {date}: 70 % of the ocean under clouds")
    paths.append(out / "maps.png")
    fig.savefig(paths[-1], dpi=90)
    plt.close(fig)
    fig = fields["varda"].varda.plot(time=day)       # what users get for their own fills
    paths.append(out / "fill.png")
    fig.savefig(paths[-1], dpi=90)
    plt.close(fig)
    hist = model.meta.get("training", {}).get("history") or []
    if hist:
        fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
        ax.plot([h["epoch"] for h in hist], [h["val_mse"] for h in hist], "o-",
                label="validation (held-out observations)")
        ax.plot([h["epoch"] for h in hist], [h["train_loss"] for h in hist], "-",
                label="training loss")
        ax.set_xlabel("epoch")
        ax.set_ylabel("MSE (normalised units)")
        ax.set_yscale("log")
        for fmt in (ax.yaxis.set_major_formatter, ax.yaxis.set_minor_formatter):
            fmt(FormatStrFormatter("%.3g"))      # plain numbers, not 2.1×10⁰
        ax.set_title(f"training of the {origin}" + (
            " (its recorded history; not trained in this run)" if "shipped" in origin else ""),
            fontsize=9)
        ax.legend()
        paths.append(out / "training_curve.png")
        fig.savefig(paths[-1], dpi=90)
        plt.close(fig)
    return paths


def run_sst_demo(args: argparse.Namespace) -> int:
    """Run the SST demo (options: ``size``, ``seed``, ``threads``, ``out``, ``train``,
    ``epochs``, ``quiet``); prints a Markdown table and where the files went."""
    import torch

    import varda
    from varda.datasets.osse import make_sst_osse
    from varda.metrics import rmse

    torch.set_num_threads(args.threads)
    log = (lambda s: None) if args.quiet else print
    out = Path(args.out or "varda-demo-sst")
    out.mkdir(parents=True, exist_ok=True)
    print(f"varda demo sst: a {args.size} SST OSSE (seed {args.seed}) with fronts, 70 % of the "
          "ocean under moving clouds; gaps filled by a learned variational model and four "
          "classical methods, scored against the truth on the cloudy ocean points\n")
    osse = make_sst_osse(args.size, seed=args.seed)
    truth, obs = osse.truth, osse.obs
    model, train_s, origin = _model(args, obs, log)
    t0 = time.perf_counter()
    calibrated = model.meta.get("calibration") is not None
    result = varda.fill(obs, model, keep_observed=True, error=calibrated)
    fill_s = time.perf_counter() - t0
    filled = result["sst"] if calibrated else result
    sigma = result["sst_error"] if calibrated else None
    log(f"  varda fill: {fill_s:.1f} s")
    fields = {"varda": filled}
    times = {"varda": fill_s}
    for k, (f, s) in _baselines(obs, log).items():
        fields[k], times[k] = f, s
    # cloudy ocean points (a pixel never observed in the record is land to every method)
    gaps = (~osse.mask) & (~osse.land) & osse.mask.any("time")
    rows = {k: rmse(f, truth, gaps) for k, f in fields.items()}
    table = ["| method | RMSE on cloudy points (°C) | ratio to varda | time (s) |",
             "|---|---|---|---|"]
    for k, r in sorted(rows.items(), key=lambda kv: kv[1]):
        table.append(f"| {k} | {r:.3f} | {r / rows['varda']:.2f} | {times[k]:.1f} |")
    errors = None
    if sigma is not None:
        from varda.metrics import error_scores
        errors = error_scores(filled, sigma, truth, gaps)
        table += ["", f"varda's error field (sst_error) on the cloudy points: "
                  f"±1σ covers {100 * errors['coverage_1sigma']:.1f} % (68 % if right), ±2σ "
                  f"{100 * errors['coverage_2sigma']:.1f} % (95 %); CRPS "
                  f"{errors['crps']:.3f} °C, {100 * errors['crps_gain']:.1f} % better than a "
                  f"constant σ = RMSE; spread–skill rank correlation "
                  f"{errors['spread_skill_rank_correlation']:.2f}"]
    nc = varda.to_netcdf(result if calibrated else filled.rename("sst"),   # + sst_error
                         out / "sst_filled.nc", overwrite=True)
    figs = _figures(out, truth, obs, fields, model, origin, day=int(truth.sizes["time"]) // 2,
                    sigma=sigma)
    (out / "table.md").write_text("\n".join(table) + "\n")
    (out / "scores.json").write_text(json.dumps(
        {"rmse": rows, "time_s": times, "model": origin, "train_s": round(train_s, 1),
         "size": args.size, "seed": args.seed, "error_scores": errors}, indent=2))
    print("\n".join(table))
    print(f"\nmodel: {origin}" + (f" ({train_s:.0f} s of training)" if train_s else ""))
    print(f"files written to {out.resolve()}:")
    for p in [nc, *figs, out / "table.md", out / "scores.json"]:
        print(f"  {Path(p).name}")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``varda demo sst`` (``--seed`` and ``--threads`` are shared)."""
    p.add_argument("--size", default="small", choices=("tiny", "small", "year"),
                   help="OSSE size (sst demo; default small: 120 days × 48 × 64)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="where the demo writes its files (default ./varda-demo-sst or "
                        "./varda-demo-ssh)")
    p.add_argument("--train", action="store_true",
                   help="sst demo: train a model here (fixed epochs) instead of the shipped one")
    p.add_argument("--epochs", type=int, default=6,
                   help="sst demo, when training: epochs per candidate (default 6)")
    p.add_argument("--steps", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--quiet", action="store_true", help="print only the table")
