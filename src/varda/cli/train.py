"""``varda train``: train a model on a variable of NetCDF files or a Zarr store."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from varda.errors import InputError, VardaError

DESCRIPTION = """\
Train a learned variational gap-filling model on a variable of NetCDF files or a Zarr store and
save it as a safe checkpoint (OUT.safetensors + OUT.json), ready for 'varda fill --model OUT'.

With no model options the configuration is chosen from the data (patch sizes from the grid, a
time window from the time correlation of the observations) and two candidates -- a linear EOF
prior (variational DINEOF) and a U-Net prior, both with a learned ConvLSTM solver -- are
compared on observations held out in separate time blocks; the better one is saved.

With --truth-var (complete fields on the same grid) training is supervised; without it, it is
self-supervised: observed pixels under the clouds of other days are hidden and scored."""

EPILOG = """\
examples:
  varda train sst_archive.nc --var sst -o models/sst                   # automatic
  varda train sst_archive.nc --var sst --axes time,lat,lon --patch time=8,lat=32,lon=32 \\
      --prior unet --solver lstm --epochs 30 -o models/sst
  varda train 'l4/*.nc' --var sst --truth-var sst_true --axes lat,lon --patch lat=64,lon=64 \\
      --max-time 1800 -o models/sst-l4
  varda train data.zarr --var ssh --config my_model.json -o models/ssh

--axes names the model's axes (dims of the variable, or CF axes through cf-xarray); every other
dim is a batch dim. Patch sizes must be multiples of the U-Net's pooling (2). --config takes a
full model config (JSON) instead of the preset options."""

#: preset options whose use means "not automatic"
PRESET_OPTIONS = ("axes", "patch", "config", "prior", "solver", "hidden", "n_iter",
                  "first_guess")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``varda train``."""
    from varda.cli.fill import _pairs

    p = subparsers.add_parser("train", help="train a model on NetCDF/Zarr data and save it",
                              description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="NetCDF files, quoted globs or one Zarr store")
    p.add_argument("--var", required=True, metavar="NAME", help="variable with the observations")
    p.add_argument("--truth-var", default=None, metavar="NAME",
                   help="variable with complete true fields (supervised training)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="checkpoint path stem: writes OUT.safetensors and OUT.json")
    p.add_argument("--axes", default=None, metavar="A,B[,C]",
                   help="model axes, e.g. time,lat,lon (default: chosen from the data)")
    p.add_argument("--patch", type=lambda t: _pairs(t, "--patch"), default=None,
                   metavar="AXIS=N,...", help="training patch size per axis (automatic mode: "
                   "the whole grid up to 48 points a side; with --axes: 16 each, capped by "
                   "the data)")
    p.add_argument("--config", default=None, metavar="JSON",
                   help="full model config file (overrides the preset options below)")
    p.add_argument("--prior", default=None, choices=("unet", "pca", "ae"),
                   help="prior (with --axes; default unet)")
    p.add_argument("--solver", default=None, choices=("lstm", "fsgd"),
                   help="solver (default lstm)")
    p.add_argument("--hidden", type=int, default=None, help="hidden channels (16)")
    p.add_argument("--periodic", default="", metavar="AXIS[,AXIS]",
                   help="periodic axes, e.g. lon for a global grid")
    p.add_argument("--n-iter", type=int, default=None, help="solver iterations (10)")
    p.add_argument("--first-guess", action="store_true",
                   help="add a learned first guess (a ConvGRU smoother along the first axis, "
                        "which must be time), trained first; needs --truth-var")
    p.add_argument("--epochs", type=int, default=None,
                   help="training epochs (default: automatic mode plans a fixed number of "
                        "steps from the data size and --max-time; else 20)")
    p.add_argument("--batch-size", type=int, default=16, help="patches per step (16)")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate")
    p.add_argument("--max-time", type=float, default=None, metavar="SECONDS",
                   help="automatic mode: the time budget (on 2 CPU cores, default 120) the "
                        "fixed work is planned from, the same under any load; with model "
                        "options: stop after this much training time (the model keeps the "
                        "iteration count it was validated at)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
                   help="training device (auto: GPU if present)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def _preset_config(args: argparse.Namespace, da) -> dict:
    """The model config of the preset options, checked against the data before training."""
    from varda.array.sampling import patch_sizes_ok
    from varda.core.presets import model_config

    from varda.xr.axes import map_axes

    axes = args.axes.split(",") if args.axes else [str(d) for d in da.dims[-2:]]
    try:   # axes are dims, or found through their CF axis (e.g. lat -> a 'latitude' dim)
        mapping = map_axes(da, axes)
    except VardaError:
        raise InputError(f"--axes names {[a for a in axes if a not in da.dims]}, which are "
                         f"neither dims of {args.var!r} ({', '.join(map(str, da.dims))}) nor "
                         "found through their CF axis (cf-xarray); give --axes as a "
                         f"comma-separated list of its dims, e.g. --axes "
                         f"{','.join(map(str, da.dims))}") from None
    patch = {}
    for a, v in (args.patch or {}).items():
        try:
            patch[a] = int(v)
        except ValueError:
            raise InputError(f"--patch {a}={v}: sizes must be whole numbers, e.g. "
                             f"--patch {a}=16") from None
    unknown = set(patch) - set(axes)
    if unknown:
        raise InputError(f"--patch names {sorted(unknown)}, which are not among --axes "
                         f"{','.join(axes)}")
    sizes = [patch.get(a, min(16, da.sizes[mapping[a]])) for a in axes]
    hidden = 16 if args.hidden is None else args.hidden
    try:
        config = model_config(axes, sizes, prior=args.prior or "unet",
                              solver=args.solver or "lstm", hidden=hidden,
                              n_iter=10 if args.n_iter is None else args.n_iter,
                              periodic=[a for a in args.periodic.split(",") if a],
                              pool=[2 if s % 2 == 0 and s >= 4 else 1 for s in sizes],
                              first_guess=args.first_guess)
    except ValueError as e:
        raise InputError(str(e).replace("put the time axis first, e.g. ('time', 'lat', 'lon')",
                                        "put the time axis first in --axes, e.g. "
                                        "--axes time,lat,lon")) from None
    patch_sizes_ok(config, [da.sizes[mapping[a]] for a in axes], args.var, option="--patch")
    return config


def run(args: argparse.Namespace) -> int:
    """Execute ``varda train``; errors are worded with CLI options."""
    try:
        return _run(args)
    except VardaError as e:
        cli = getattr(e, "cli_message", None)
        if cli is not None and cli != str(e):
            raise type(e)(cli) from e
        raise


def _run(args: argparse.Namespace) -> int:
    from varda.cli.fill import expand_inputs, open_inputs

    files = expand_inputs(args.inputs)    # a wrong path is refused before torch is imported
    from varda.xr.train import train

    ds = open_inputs(files, None)
    for v in filter(None, (args.var, args.truth_var)):
        if v not in ds.data_vars:
            raise InputError(f"variable {v!r} is not in the input; it has {list(ds.data_vars)}")
    da = ds[args.var]
    if args.first_guess and not args.truth_var:
        raise InputError("--first-guess trains on complete true fields: give them with "
                         "--truth-var NAME, or drop --first-guess for self-supervised training")
    auto = not any(getattr(args, k) not in (None, False) for k in PRESET_OPTIONS)
    if args.config:
        config = json.loads(Path(args.config).read_text())
    elif auto:
        config = None
    else:
        config = _preset_config(args, da)
    truth = ds[args.truth_var] if args.truth_var else None
    options = {"batch_size": args.batch_size}
    if args.lr is not None:
        options["lr"] = args.lr
    model = train(da, config, truth=truth, epochs=args.epochs, seed=args.seed,
                  max_time=args.max_time, device=args.device, progress=not args.no_progress,
                  **options)
    model.meta["trained_by"] = {"command": "varda train",
                                **{k: v for k, v in vars(args).items() if k != "func"}}
    model.meta.setdefault("model_card", {})["command"] = " ".join(
        ["varda train", *sys.argv[2:]]) if sys.argv[1:2] == ["train"] else "varda train"
    path = model.save(args.output)
    tr = model.meta["training"]
    scores = ", ".join(f"{k} {v['val_mse']:.4g}" for k, v in tr.get("candidates", {}).items())
    print(f"saved {path}: {tr.get('chosen', 'model')} (validation MSE in normalised units: "
          f"{scores}); K = {model.n_iter}, stopped by {tr['stop_reason']}", file=sys.stderr)
    print(path)
    return 0
