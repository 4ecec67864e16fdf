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
than memory work. Inputs are never modified. A NetCDF output appears only when complete. A Zarr
output is written region by region to OUT.partial and renamed to OUT when every region is
written (fsspec URLs are written in place, marked varda_status=partial until complete); an
interrupted fill (Ctrl-C, killed process or worker, full disk) is finished by rerunning the
same command, which skips the regions already written."""

EPILOG = """\
examples:
  varda fill sst_2003.nc --var sst --model ./models/sst -o sst_filled.nc
  varda fill 'archive/sst_*.nc' --var sst --model sst-osse -o out.zarr --chunks time=365
  varda fill in.zarr --var sst --model m.json -o out.zarr --scheduler tcp://10.0.0.5:8786
  varda fill sst.nc --var sst --model sst-osse --error -o sst_filled.nc   # + sst_error

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
                   help="dask chunk sizes, e.g. time=30 (default: the files' own chunking "
                        "along the model's axes and time, one index per chunk along the dims "
                        "the model batches over, e.g. members); Zarr regions follow these "
                        "chunks")
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
                   help="replace an existing output and discard an interrupted one (an input "
                        "is never overwritten; a replaced Zarr store stays until the new one "
                        "is complete)")
    p.add_argument("--resume", action="store_true",
                   help="Zarr output: require an interrupted fill of OUT to continue (rerunning "
                        "the same command resumes one anyway); refused, with what differs, "
                        "when the model, inputs or options are not the same")
    p.add_argument("--region-size", type=int, default=None, metavar="N",
                   help="Zarr output: points per region along the first dim, or, for a model "
                        "that fills from a background along time, the first other dim "
                        "(default: 4 chunks); along the other dims a region is one chunk "
                        "(--chunks). A region is the unit that is written, recorded and "
                        "resumed: an interruption loses at most the one being written")
    p.add_argument("--error", action="store_true",
                   help="also write <var>_error, the fill's error standard deviation (same "
                        "units), from the model's calibration (varda.calibrate)")
    p.add_argument("--ghrsst", action="store_true",
                   help="with --error: GHRSST names analysed_sst and analysis_error")
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


def check_same_grids(files: list[str]) -> None:
    """Files combined into one archive must share every coordinate but the one they are split
    along (else open_mfdataset would pad the union of grids with NaN).

    Raises:
        InputError: naming the two files, the dim and how the coordinates differ.
    """
    import numpy as np
    import xarray as xr

    first = None
    for f in files:
        with xr.open_dataset(f) as ds:
            idx = {str(d): np.asarray(ds.indexes[d]) for d in ds.indexes}
            split = "time" if "time" in idx else None
        if first is None:
            first, ref = f, idx
            continue
        for dim in sorted(set(ref) | set(idx)):
            a, b = ref.get(dim), idx.get(dim)
            if a is None or b is None:
                raise InputError(f"input files {first!r} and {f!r} do not have the same "
                                 f"dims: {dim!r} is a coordinate of only one of them")
            same_len = a.shape == b.shape
            if same_len and np.array_equal(a, b):
                continue
            numeric = a.dtype.kind in "iuf" and b.dtype.kind in "iuf"
            if not same_len or not numeric or not np.allclose(a, b, equal_nan=True):
                overlap = np.intersect1d(a, b).size
                if dim == split or (split is None and overlap == 0 and a.dtype.kind in "iufM"
                                    and _concatenable(ref, idx, dim)):
                    continue  # the dim the archive is split along
                raise InputError(
                    f"input files {first!r} and {f!r} are on different grids along {dim!r} "
                    f"({a.size} points from {a.min()} to {a.max()} vs {b.size} points from "
                    f"{b.min()} to {b.max()}); regrid them to one grid first (e.g. xESMF or "
                    "cdo remapbil) or fill them separately")


def _concatenable(ref: dict, idx: dict, dim: str) -> bool:
    """True when ``dim`` is the only coordinate on which two files differ (a split dim)."""
    import numpy as np
    others = [d for d in ref if d != dim and d in idx]
    return all(ref[d].shape == idx[d].shape and np.array_equal(ref[d], idx[d]) for d in others)


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
        check_same_grids(files)
        ds = xr.open_mfdataset(files, combine="by_coords", chunks={})
    return ds.chunk(chunks) if chunks else ds


def chunk_batched_dims(ds, model: str, *, variables, dims, given: dict):
    """One index per dask chunk along the dims the model batches over (members, ensembles…)
    that ``--chunks`` does not name: the fill's work, and the Zarr output's regions, then come
    a few members at a time instead of as one block of the whole ensemble. A time dim is left
    as the files chunk it (a background or the land mask is computed along it)."""
    from varda.array.model_cache import resolve_model
    from varda.xr.axes import map_axes, time_dim

    info = resolve_model(model, device="cpu")
    spec: dict[str, int] = {}
    for name in variables or list(ds.data_vars):
        if name not in ds.data_vars or ds[name].dtype.kind != "f":
            continue                       # fill_dataset says what is wrong with it
        try:
            mapping = map_axes(ds[name], info.axes, dims)
        except InputError:
            continue
        keep = {*mapping.values(), time_dim(ds[name], mapping), *given}
        spec.update({str(d): 1 for d in ds[name].dims if d not in keep and ds.sizes[d] > 1})
    return ds.chunk(spec) if spec else ds


def run(args: argparse.Namespace) -> int:
    """Execute ``varda fill``; varda's warnings are printed as one-line notes."""
    import warnings

    from varda.errors import VardaError, VardaWarning

    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", VardaWarning)
            return _run(args)
    except KeyboardInterrupt:
        print(_interrupted_note(args), file=sys.stderr)
        return 130
    except VardaError as e:  # say the fix with CLI options, not Python keywords
        cli = getattr(e, "cli_message", None)
        if cli is not None and cli != str(e):
            raise type(e)(cli) from e
        raise
    finally:  # outside catch_warnings: re-showing a warning inside it would record it again
        for w in caught:
            if issubclass(w.category, VardaWarning):
                print(f"varda fill: note: {w.message}", file=sys.stderr)
            else:
                warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _interrupted_note(args: argparse.Namespace) -> str:
    from varda.io import zarr_status

    if not str(args.output).endswith(".zarr"):
        return "varda fill: interrupted; no output was written (NetCDF appears only when complete)"
    st = zarr_status(args.output)
    if st["status"] != "partial":
        return "varda fill: interrupted"
    return (f"varda fill: interrupted; {st['regions_done']} of {st['regions_total']} regions are "
            f"kept in {st['path']}: rerun the same command to finish")


def _run(args: argparse.Namespace) -> int:
    files = expand_inputs(args.inputs)    # a wrong path is refused before torch is imported

    import varda
    from varda.xr.fill import fill_dataset

    out = Path(args.output)
    client = None
    if args.scheduler != "local":
        from distributed import Client
        client = Client(args.scheduler)
    try:
        ds = open_inputs(files, args.chunks)
        ds = chunk_batched_dims(ds, args.model, variables=args.variables, dims=args.dims,
                                given=args.chunks or {})
        filled = fill_dataset(
            ds, args.model, variables=args.variables, options=fill_options(args),
            dims=args.dims, mask=False if args.no_land_mask else None,
            sources=[os.path.abspath(f) for f in files], error=args.error, ghrsst=args.ghrsst)
        names = [v for v in filled.data_vars if "varda_model" in filled[v].attrs]
        errors = [e for v in names for e in filled[v].attrs.get("ancillary_variables", "").split()
                  if e in filled.data_vars]          # --error: <var>_error beside each <var>
        filled = filled[names + errors]
        if out.suffix == ".zarr":
            target = varda.to_zarr(filled, str(out), overwrite=args.overwrite, inputs=files,
                                   resume=True if args.resume else None,
                                   region_size=args.region_size, progress=not args.no_progress)
        else:
            if args.resume or args.region_size:
                raise InputError("--resume and --region-size apply to Zarr outputs (-o *.zarr); "
                                 "a NetCDF output is written whole, atomically")
            target = str(varda.to_netcdf(filled, str(out), overwrite=args.overwrite,
                                         inputs=files, progress=not args.no_progress))
        for v in names:
            frac = filled[v].attrs["varda_fraction_filled"]
            print(f"{v}: filled {100 * frac:.2f}% of the field's points", file=sys.stderr)
        print(target)
    finally:
        if client is not None:
            client.close()
    return 0
