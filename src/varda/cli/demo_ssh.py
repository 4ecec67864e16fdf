"""``varda demo ssh``: map sea-surface height from nadir altimetry with a QG physics prior.

A fixed amount of work (no training, no wall-clock cap): a seeded quasi-geostrophic OSSE
(:func:`varda.datasets.qg.make_qg_ssh`, 64 × 64 daily SSH on a 10 km grid) is observed along
the tracks of a constellation of nadir altimeters (:func:`varda.datasets.altimetry.sample_tracks`,
the L3 along-track layout) plus a withheld satellite; the tracks are mapped by the DUACS-style
OI (:func:`varda.baselines.duacs_oi`, scales chosen on withheld tracks, with its posterior
error) and by weak-constraint QG 4D-Var started from it
(:func:`varda.baselines.qg4dvar.qg_fourdvar`, forcing control, one window of ``--days``).
The scores of the ocean data challenges (:mod:`varda.metrics`) are printed as a Markdown
table; the maps go to ``<out>/ssh_demo.nc`` and a figure to ``<out>/ssh_demo.png``. The full
benchmark (several windows, test seeds, misspecified physics) is ``python -m
experiments.ssh.run`` (see the SSH page of the documentation).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

#: the withheld satellite of the along-track scores (HY-2-like; not one of those mapped)
WITHHELD = ("h2", 99.34, 14.0, 173)
#: the physics given to the prior (the OSSE's own: a perfect-model case): Rossby radius (m)
#: and damping (days)
ROSSBY_RADIUS, DAMPING_DAYS = 60e3, 60.0


def _maps_figure(truth, obs, oi, var, path: Path) -> None:
    """Truth, binned tracks, OI and 4D-Var on the middle day, and the two errors."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    day = truth.sizes["time"] // 2
    vmax = float(abs(truth).max())
    panels = [("truth", truth, vmax), ("binned tracks", obs, vmax), ("OI", oi, vmax),
              ("QG 4D-Var", var, vmax), ("OI − truth", oi - truth, vmax / 3),
              ("4D-Var − truth", var - truth, vmax / 3)]
    fig, axes = plt.subplots(2, 3, figsize=(10, 6.2), constrained_layout=True)
    for ax, (title, da, lim) in zip(axes.ravel(), panels):
        im = ax.pcolormesh(da.lon, da.lat, da.isel(time=day), cmap="RdBu_r", vmin=-lim,
                           vmax=lim)
        ax.set(title=f"{title} (m)", xlabel="longitude (°E)", ylabel="latitude (°N)")
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle(f"varda demo ssh: day {day}")
    fig.savefig(path, dpi=80)
    plt.close(fig)


def run_ssh_demo(args: argparse.Namespace) -> int:
    """Run the demo (options ``days``, ``nadirs``, ``iterations``, ``seed``, ``threads``,
    ``out``); prints a Markdown table."""
    import torch
    import xarray as xr

    from varda.baselines import duacs_oi
    from varda.baselines.qg4dvar import qg_fourdvar
    from varda.datasets.altimetry import Satellite, grid_tracks, sample_tracks
    from varda.datasets.qg import make_qg_ssh
    from varda.metrics import along_track_scores, nrmse_score

    from varda.errors import InputError

    for option, value, least in (("--days", args.days, 4), ("--nadirs", args.nadirs, 1),
                                 ("--iterations", args.iterations, 1)):
        if value < least:
            raise InputError(f"{option} must be at least {least}, got {value}")
    torch.set_num_threads(args.threads)
    print(f"varda demo ssh: {args.days} days of 64 × 64 QG sea-surface height (seed {args.seed}),"
          f" {args.nadirs} nadir altimeters, one withheld satellite\n")
    grid = int(args.grid)      # a smaller box of the same 640 km (tests), shorter spin-up
    truth = make_qg_ssh(args.days, seed=args.seed, shape=(grid, grid), dx=640e3 / grid,
                        spinup_days=200 if grid == 64 else 20)
    tracks = sample_tracks(truth, satellites=args.nadirs, seed=args.seed + 17)
    withheld = sample_tracks(truth, satellites=[Satellite(*WITHHELD)], seed=args.seed + 31)
    obs = grid_tracks(tracks, truth)
    t0 = time.perf_counter()
    oi = duacs_oi(tracks, truth)
    times = {"oi": time.perf_counter() - t0}
    t0 = time.perf_counter()
    var = qg_fourdvar(obs, oi.ssh, rossby_radius=ROSSBY_RADIUS, damping_days=DAMPING_DAYS,
                      obs_error_std=oi.attrs["noise_std"],
                      first_guess_error_std=float((oi.ssh_error ** 2).mean() ** 0.5),
                      window=args.days, n_iter=args.iterations,
                      spinup_iter=min(30, args.iterations))
    times["qg4dvar"] = time.perf_counter() - t0
    print("| method | RMSE (cm) | RMSE / OI | µ | withheld track RMSE (cm) | time (s) |\n"
          "|---|---|---|---|---|---|")
    base = nrmse_score(oi.ssh, truth).rmse
    for key, name, field in (("oi", "DUACS-style OI", oi.ssh),
                             ("qg4dvar", "QG 4D-Var (L-BFGS)", var)):
        n = nrmse_score(field, truth)
        at = along_track_scores(field, withheld)
        print(f"| {name} | {100 * n.rmse:.2f} | {n.rmse / base:.2f} | {n.mu:.3f} | "
              f"{100 * at.rmse:.2f} | {times[key]:.0f} |")
    out = Path(args.out or "varda-demo-ssh")
    out.mkdir(parents=True, exist_ok=True)
    ds = xr.Dataset({"ssh_truth": truth, "ssh_tracks_binned": obs, "ssh_oi": oi.ssh,
                     "ssh_oi_error": oi.ssh_error, "ssh_qg4dvar": var})
    ds.attrs["source"] = "varda demo ssh"
    from varda.io import to_netcdf
    to_netcdf(ds, out / "ssh_demo.nc", overwrite=True)
    _maps_figure(truth, obs, oi.ssh, var, out / "ssh_demo.png")
    print(f"\nwrote {out / 'ssh_demo.nc'} and {out / 'ssh_demo.png'}; the benchmark: "
          "python -m experiments.ssh.run (see the docs)")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``varda demo ssh`` (``--seed`` and ``--threads`` are shared)."""
    p.add_argument("--days", type=int, default=20,
                   help="ssh: days of the record, mapped as one 4D-Var window (default 20)")
    p.add_argument("--nadirs", type=int, default=4, help="ssh: nadir altimeters (default 4)")
    p.add_argument("--iterations", type=int, default=100,
                   help="ssh: L-BFGS iterations of the 4D-Var after a 30-iteration spin-up "
                        "(default 100)")
    p.add_argument("--grid", type=int, default=64, help=argparse.SUPPRESS)
