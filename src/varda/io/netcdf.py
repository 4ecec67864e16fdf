"""Atomic NetCDF output: write a temporary file beside the target, then rename it."""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterable

import xarray as xr

from varda.io.encoding import prepare
from varda.io.progress import run
from varda.io.safety import check_space, check_target, input_sources, is_enospc, space_error


def to_netcdf(obj: "xr.DataArray | xr.Dataset", path: "str | os.PathLike", *,
              overwrite: bool = False, inputs: Iterable["str | os.PathLike"] = (),
              progress: bool = False) -> Path:
    """Write a filled field to NetCDF-4, atomically (temp file + rename).

    Float data variables are written as float32 with NaN as fill value; integer packing
    (``scale_factor``/``add_offset``) inherited from the input is dropped. A CF history line is
    prepended. Dask-backed data are computed while writing (the fill runs here).

    Args:
        obj: the filled DataArray (needs a name) or Dataset.
        path: the output file.
        overwrite: replace an existing output (an input is never overwritten).
        inputs: extra input paths to protect (those xarray recorded are always protected).
        progress: show a progress bar.

    Returns:
        The resolved output path.

    Raises:
        OutputError: ``path`` is an input, or exists and ``overwrite`` is False; the filesystem
            has less free space than the output needs (checked before computing) or fills up
            while writing (the message names the path and the space needed; an existing output
            is left as it was).
    """
    sources = [*input_sources(obj), *inputs]
    target = check_target(path, inputs=sources, overwrite=overwrite)
    ds = prepare(obj, f"varda.to_netcdf({target.name!r})")
    need = sum(v.dtype.itemsize * v.size for v in ds.variables.values())
    check_space(target, need)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        try:
            run(ds.to_netcdf(tmp, engine="netcdf4", compute=False), progress=progress)
        except Exception as e:
            if is_enospc(e):
                raise space_error(str(path), str(tmp), need, note=(
                    "The partial temporary file was removed"
                    + (" and the existing output is unchanged" if target.exists() else "")
                    + "; free space and rerun")) from e
            raise
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target
