"""``varda train``: train a model on a variable of NetCDF files or a Zarr store."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from varda.errors import InputError

DESCRIPTION = """\
Train a learned variational gap-filling model on a variable of NetCDF files or a Zarr store and
save it as a safe checkpoint (OUT.safetensors + OUT.json), ready for 'varda fill --model OUT'.

With --truth-var (complete fields on the same grid) training is supervised; without it, it is
self-supervised: a random 20 % of the observations is hidden from the solver and scored."""

EPILOG = """\
examples:
  varda train sst_archive.nc --var sst --axes time,lat,lon --patch time=10,lat=32,lon=32 -o models/sst
  varda train 'l4/*.nc' --var sst --truth-var sst_true --axes lat,lon --patch lat=64,lon=64 \\
      --prior unet --solver lstm --epochs 30 --max-time 1800 -o models/sst-l4
  varda train data.zarr --var ssh --config my_model.json -o models/ssh

--axes names the model's axes (dims of the variable, or CF axes through cf-xarray); every other
dim is a batch dim. --config takes a full model config (JSON, see docs/core.md) instead of the
preset options."""


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
                   help="model axes, e.g. time,lat,lon (default: the variable's last 2 dims)")
    p.add_argument("--patch", type=lambda t: _pairs(t, "--patch"), default=None,
                   metavar="AXIS=N,...", help="training patch size per axis (default: 16 each, "
                   "capped by the data)")
    p.add_argument("--config", default=None, metavar="JSON",
                   help="full model config file (overrides the preset options below)")
    p.add_argument("--prior", default="unet", choices=("unet", "pca", "ae"), help="prior (unet)")
    p.add_argument("--solver", default="lstm", choices=("lstm", "fsgd"), help="solver (lstm)")
    p.add_argument("--hidden", type=int, default=16, help="hidden channels (16)")
    p.add_argument("--periodic", default="", metavar="AXIS[,AXIS]",
                   help="periodic axes, e.g. lon for a global grid")
    p.add_argument("--n-iter", type=int, default=10, help="solver iterations (10)")
    p.add_argument("--first-guess", action="store_true",
                   help="add a learned first guess (a ConvGRU smoother along the first axis, "
                        "which must be time), trained first; needs --truth-var")
    p.add_argument("--epochs", type=int, default=20, help="training epochs (20)")
    p.add_argument("--batch-size", type=int, default=16, help="patches per step (16)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (1e-3)")
    p.add_argument("--max-time", type=float, default=None, metavar="SECONDS",
                   help="stop after this much training time")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
                   help="training device (auto: GPU if present)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from varda.cli.fill import expand_inputs, open_inputs
    from varda.core.presets import model_config
    from varda.xr.train import train

    ds = open_inputs(expand_inputs(args.inputs), None)
    for v in filter(None, (args.var, args.truth_var)):
        if v not in ds.data_vars:
            raise InputError(f"variable {v!r} is not in the input; it has {list(ds.data_vars)}")
    da = ds[args.var]
    if args.first_guess and not args.truth_var:
        raise InputError("--first-guess trains on complete true fields: give them with "
                         "--truth-var NAME, or drop --first-guess for self-supervised training")
    if args.config:
        config = json.loads(Path(args.config).read_text())
    else:
        axes = args.axes.split(",") if args.axes else list(da.dims[-2:])
        patch = {a: int(v) for a, v in (args.patch or {}).items()}
        unknown = set(patch) - set(axes)
        if unknown:
            raise InputError(f"--patch names {sorted(unknown)}, which are not among --axes {axes}")
        sizes = [patch.get(a, min(16, da.sizes[a]) if a in da.sizes else 16) for a in axes]
        config = model_config(axes, sizes, prior=args.prior, solver=args.solver,
                              hidden=args.hidden, n_iter=args.n_iter,
                              periodic=[a for a in args.periodic.split(",") if a],
                              pool=[2 if s % 2 == 0 and s >= 4 else 1 for s in sizes],
                              first_guess=args.first_guess)
    truth = ds[args.truth_var] if args.truth_var else None
    model = train(da, config, truth=truth, epochs=args.epochs, seed=args.seed,
                  batch_size=args.batch_size, lr=args.lr, max_time=args.max_time,
                  device=args.device, progress=not args.no_progress)
    model.meta["trained_by"] = {"command": "varda train",
                                **{k: v for k, v in vars(args).items() if k != "func"}}
    path = model.save(args.output)
    best = model.meta["training"]["best_val_mse"]
    print(f"saved {path} (best validation MSE {best:.4g} in normalised units)", file=sys.stderr)
    print(path)
    return 0
