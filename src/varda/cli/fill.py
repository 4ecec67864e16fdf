"""``varda fill``: fill the gaps of variables in NetCDF files or a Zarr store, stream to NetCDF/Zarr."""
from __future__ import annotations

import argparse
import glob
import os
import sys
from pathlib import Path

from varda.errors import InputError

DESCRIPTION = """\
Fill the gaps (NaN / missing values) of one or more variables with a learned variational
model, patch by patch, and write the result with provenance (CF history, model sha256, solver
settings, fraction filled, and a <var>_observed flag variable).

The input is read lazily with dask and the fill streams chunk by chunk, so archives larger
than memory work. Inputs are never modified; the output is written atomically."""

EPILOG = """\
examples:
  varda fill sst_2003.nc --var sst --model ./models/sst -o sst_filled.nc
  varda fill 'archive/sst_*.nc' --var sst --model l96-unet-joint -o out.zarr --chunks time=365
  varda fill in.zarr --var sst --model m.json -o out.zarr --scheduler tcp://10.0.0.5:8786

model axes are matched to the data's dims by name, then by CF axis (T/Y/X/Z, through
cf-xarray), or explicitly with --dims; all other dims are batched. Cells that are NaN at
every time step are land and stay NaN (--no-land-mask to fill them too)."""


def _pairs(text: str, what: str) -> dict[str, str]:
    out = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        if "=" not in item:
            raise argparse.ArgumentTypeError(f"{what} items look like name=value, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _chunks(text: str) -> dict[str, int]:
    try:
        return {k: int(v) for k, v in _pairs(text, "--chunks").items()}
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"--chunks sizes must be integers: {e}") from e


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``varda fill``."""
    p = subparsers.add_parser(
        "fill", help="fill gaps in NetCDF/Zarr variables with a learned model",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="NetCDF files, quoted globs ('data/*.nc', opened with open_mfdataset) "
                        "or one Zarr store (a directory or *.zarr)")
    p.add_argument("--var", action="append", dest="variables", metavar="NAME",
                   help="variable to fill (repeat for several; default: every float variable "
                        "that has the model's axes)")
    p.add_argument("--model", required=True, metavar="NAME_OR_PATH",
                   help="checkpoint (.json written by VarModel.save) or pretrained model name")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file: *.zarr → Zarr store (written region by region), "
                        "anything else → NetCDF-4")
    p.add_argument("--chunks", type=_chunks, default=None, metavar="DIM=N[,DIM=N]",
                   help="dask chunk sizes, e.g. time=30 (default: the files' own chunking)")
    p.add_argument("--scheduler", default="local", metavar="local|ADDRESS",
                   help="'local' (threads in this process, default) or the address of a running "
                        "dask.distributed scheduler, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="where the model runs on each worker (auto: GPU if present)")
    p.add_argument("--keep-observed", action=argparse.BooleanOptionalAction, default=None,
                   help="keep observed values bit-for-bit, or (--no-keep-observed) return the "
                        "solver's estimate everywhere (default: the model's fill_defaults; "
                        "False for models that do not say)")
    p.add_argument("--dims", type=lambda t: _pairs(t, "--dims"), default=None,
                   metavar="AXIS=DIM[,AXIS=DIM]",
                   help="map model axes to dims when names/CF axes do not, e.g. lat=y,lon=x")
    p.add_argument("--no-land-mask", action="store_true",
                   help="also fill cells that are NaN at every time step (default: keep NaN)")
    p.add_argument("--n-iter", type=int, default=None,
                   help="solver iterations (default: the model's; at most its n_iter_max)")
    p.add_argument("--batch-size", type=int, default=64, help="patches per solver call (64)")
    p.add_argument("--overlap", type=float, default=0.5,
                   help="tile overlap as a fraction of the model's patch (0.5)")
    p.add_argument("--complete", default="denoise", choices=("denoise", "unchanged"),
                   help="a window without gap is denoised by the solver (default) or left "
                        "unchanged")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing output (an input is never overwritten)")
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    p.set_defaults(func=run)
    return p


def fill_options(args: argparse.Namespace):
    """The one place where ``varda fill``'s arguments become a :class:`~varda.array.FillOptions`."""
    from varda.array.options import FillOptions

    return FillOptions(keep_observed=args.keep_observed, complete=args.complete,
                       overlap=args.overlap, n_iter=args.n_iter, batch_size=args.batch_size,
                       device=args.device)


def expand_inputs(inputs: list[str]) -> list[str]:
    """Expand globs; refuse patterns that match nothing and missing files."""
    files: list[str] = []
    for item in inputs:
        matched = sorted(glob.glob(os.path.expanduser(item))) if glob.has_magic(item) else [item]
        if not matched:
            raise InputError(f"input pattern {item!r} matches no file")
        for m in matched:
            if not os.path.exists(m):
                raise InputError(f"input {m!r} does not exist")
            files.append(m)
    return files


def open_inputs(files: list[str], chunks: "dict | None"):
    """One Zarr store, one file, or several files combined by coordinates; lazily (dask)."""
    import xarray as xr

    zarrs = [f for f in files if f.rstrip("/").endswith(".zarr") or os.path.isdir(f)]
    if zarrs:
        if len(files) > 1:
            raise InputError("give either one Zarr store or NetCDF files, not both/several stores")
        ds = xr.open_zarr(files[0])
    elif len(files) == 1:
        ds = xr.open_dataset(files[0], chunks={})
    else:
        ds = xr.open_mfdataset(files, combine="by_coords", chunks={})
    return ds.chunk(chunks) if chunks else ds


def run(args: argparse.Namespace) -> int:
    """Execute ``varda fill``; varda's warnings are printed as one-line notes."""
    import warnings

    from varda.errors import VardaError, VardaWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", VardaWarning)
        try:
            return _run(args)
        except VardaError as e:  # say the fix with CLI options, not Python keywords
            cli = getattr(e, "cli_message", None)
            if cli is not None and cli != str(e):
                raise type(e)(cli) from e
            raise
        finally:
            for w in caught:
                if issubclass(w.category, VardaWarning):
                    print(f"varda fill: note: {w.message}", file=sys.stderr)
                else:
                    warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _run(args: argparse.Namespace) -> int:
    import varda
    from varda.xr.fill import fill_dataset

    files = expand_inputs(args.inputs)
    out = Path(args.output)
    client = None
    if args.scheduler != "local":
        from distributed import Client
        client = Client(args.scheduler)
    try:
        ds = open_inputs(files, args.chunks)
        filled = fill_dataset(
            ds, args.model, variables=args.variables, options=fill_options(args),
            dims=args.dims, mask=False if args.no_land_mask else None,
            sources=[os.path.abspath(f) for f in files])
        names = [v for v in filled.data_vars if "varda_model" in filled[v].attrs]
        filled = filled[names]
        write = varda.to_zarr if out.suffix == ".zarr" else varda.to_netcdf
        target = write(filled, str(out), overwrite=args.overwrite, inputs=files,
                       progress=not args.no_progress)
        for v in names:
            frac = filled[v].attrs["varda_fraction_filled"]
            print(f"{v}: filled {100 * frac:.2f}% of the field's points", file=sys.stderr)
        print(target)
    finally:
        if client is not None:
            client.close()
    return 0
