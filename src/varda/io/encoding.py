"""Prepare a filled object for writing: float32, no inherited packing, provenance attributes."""
from __future__ import annotations

import numpy as np
import xarray as xr

from varda.provenance import REFERENCES, SOURCE, prepend_history

#: encoding keys that may pack floats into integers or pin the input's layout
PACKING_KEYS = ("scale_factor", "add_offset", "missing_value", "_FillValue", "dtype")
#: encoding keys that pin the input file's layout or compression
LAYOUT_KEYS = ("chunksizes", "chunks", "preferred_chunks", "original_shape", "contiguous", "source", "zlib",
             "complevel", "shuffle", "fletcher32", "compressor", "compressors", "filters",
             "szip_coding", "szip_pixels_per_block", "blosc_shuffle", "quantize_mode",
             "significant_digits", "endian", "least_significant_digit", "shards", "serializer")


def as_dataset(obj: "xr.DataArray | xr.Dataset") -> xr.Dataset:
    """A Dataset view of ``obj`` (a DataArray needs a name)."""
    if isinstance(obj, xr.Dataset):
        return obj
    name = obj.name if obj.name is not None else "filled"
    ds = obj.to_dataset(name=name)
    ds.attrs = {k: v for k, v in obj.attrs.items() if k in ("history", "Conventions")}
    return ds


def prepare(obj: "xr.DataArray | xr.Dataset", call: str) -> xr.Dataset:
    """Float data variables → float32 with NaN fill and no packing; history line for ``call``."""
    ds = as_dataset(obj).copy()
    for name, var in ds.variables.items():
        enc = {k: v for k, v in var.encoding.items() if k not in LAYOUT_KEYS}
        if name in ds.data_vars or var.dtype.kind in "iub":
            enc = {k: v for k, v in enc.items() if k not in PACKING_KEYS}
        if var.dtype.kind == "f" and name in ds.data_vars:
            ds[name] = var.astype(np.float32)
            enc.update({"dtype": "float32", "_FillValue": np.float32(np.nan)})
            ds[name].attrs.pop("missing_value", None)
            ds[name].attrs.pop("_FillValue", None)
        elif var.dtype.kind in "iub" and name not in ds.indexes:
            enc.update({"dtype": str(var.dtype)})
        ds[name].encoding = enc
    ds.attrs = prepend_history(ds.attrs, call)
    ds.attrs.setdefault("Conventions", "CF-1.8")
    ds.attrs["source"] = SOURCE
    ds.attrs["references"] = REFERENCES
    return ds
