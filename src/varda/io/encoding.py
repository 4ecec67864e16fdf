"""Prepare a filled object for writing: float32 or float64 as filled, no inherited packing,
provenance attributes."""
from __future__ import annotations

import numpy as np
import xarray as xr

from varda.provenance import (ACDD_FROM_INPUT, REFERENCES, SOURCE, acdd_attrs,
                               prepend_history)

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
    keep = ("history", "Conventions", "references", *ACDD_FROM_INPUT)
    ds.attrs = {k: v for k, v in obj.attrs.items() if k in keep}
    return ds


def prepare(obj: "xr.DataArray | xr.Dataset", call: str) -> xr.Dataset:
    """Float data variables → float32 (float64 stays float64, so observed values are written
    bit-identical) with NaN fill and no packing; history line for ``call``."""
    ds = as_dataset(obj).copy()
    for name, var in ds.variables.items():
        enc = {k: v for k, v in var.encoding.items() if k not in LAYOUT_KEYS}
        if name in ds.data_vars or var.dtype.kind in "iub":
            enc = {k: v for k, v in enc.items() if k not in PACKING_KEYS}
        if var.dtype.kind == "f" and name in ds.data_vars:
            dt = np.dtype(np.float64 if var.dtype == np.float64 else np.float32)
            ds[name] = var.astype(dt)
            enc.update({"dtype": dt.name, "_FillValue": dt.type(np.nan)})
            ds[name].attrs.pop("missing_value", None)
            ds[name].attrs.pop("_FillValue", None)
        elif var.dtype.kind in "iub" and name not in ds.indexes:
            enc.update({"dtype": str(var.dtype)})
        ds[name].encoding = enc
    filled = [str(v) for v in ds.data_vars if "varda_model" in ds[v].attrs]
    refs = [str(ds[v].attrs.get("references", "")) for v in filled]
    ds.attrs = prepend_history(ds.attrs, call)
    ds.attrs.update(acdd_attrs(ds.attrs, filled))
    ds.attrs["source"] = SOURCE
    ds.attrs["references"] = max(refs, key=len, default="") or REFERENCES   # with the OI's
    return ds
