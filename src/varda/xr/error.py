"""The Dataset a fill with ``error=True`` returns: the field, its error, linked as in CF.

The filled variable, ``<name>_error`` (the error standard deviation, same units) and the
observed flag coordinate ``<name>_observed``; the filled variable names both in its CF
``ancillary_variables``. The error's ``standard_name`` is ``"<standard name> standard_error"``
(the CF modifier) where the input has a standard name. ``ghrsst=True`` uses the GHRSST L4
names instead: ``analysed_sst`` and ``analysis_error`` ("estimated error standard deviation of
analysed_sst").
"""
from __future__ import annotations

import json
from typing import Any, Mapping

import xarray as xr

#: GHRSST L4 names of the field and of its error
GHRSST_FIELD, GHRSST_ERROR = "analysed_sst", "analysis_error"


def error_attrs(field_attrs: Mapping[str, Any], name: str, calibration: Any,
                history: "str | None", comment: "str | None" = None) -> dict:
    """CF attributes of the error variable of ``name`` (whose attributes are ``field_attrs``):
    ``comment`` says where the error comes from (default: a varda model's ``calibration``)."""
    what = field_attrs.get("long_name") or name
    out: dict = {"long_name": f"estimated error standard deviation of {what}",
                 "coverage_content_type": "qualityInformation"}
    if "units" in field_attrs:
        out["units"] = field_attrs["units"]
    if field_attrs.get("standard_name"):
        out["standard_name"] = f"{field_attrs['standard_name']} standard_error"
    if calibration is None:
        out["comment"] = comment or ""
    else:
        out["comment"] = comment or (
            "calibrated error of the varda fill: the posterior variance of a local optimal "
            "interpolation of the same observations"
            + (", times the local variance of the observed anomalies,"
               if calibration.local_variance is not None else "")
            + " mapped to the fill's error variance by a "
            f"monotone calibration fitted on {calibration.fitted_on or 'withheld observations'}"
            f" ({calibration.n_points} points); see varda.array.error")
        out["varda_calibration"] = json.dumps(calibration.to_meta(), sort_keys=True)
    if history:
        out["history"] = history
    return out


def with_error(filled: xr.DataArray, sigma: xr.DataArray, calibration: Any, *,
               ghrsst: bool = False, comment: "str | None" = None) -> xr.Dataset:
    """The Dataset of a fill and its error (see the module). Inputs are not modified.
    ``calibration``: the model's (None for a baseline, whose ``comment`` says where its error
    comes from)."""
    name = str(filled.name) if filled.name is not None else "data"
    field_name, error_name = (GHRSST_FIELD, GHRSST_ERROR) if ghrsst else (name, f"{name}_error")
    field = filled.copy().rename(field_name)
    err = sigma.rename(error_name)
    err.attrs = error_attrs(filled.attrs, field_name, calibration,
                            filled.attrs.get("history"), comment)
    if ghrsst:
        field.attrs["long_name"] = "analysed sea surface temperature"
    flag = f"{name}_observed"
    links = [error_name] + ([flag] if flag in field.coords else [])
    field.attrs["ancillary_variables"] = " ".join(links)
    ds = xr.Dataset({field_name: field, error_name: err})
    ds.attrs = {k: v for k, v in filled.attrs.items() if k in ("history",)}
    ds.encoding = dict(filled.encoding)   # the field keeps its own (source: writers check it)
    return ds


__all__ = ["GHRSST_ERROR", "GHRSST_FIELD", "error_attrs", "with_error"]
