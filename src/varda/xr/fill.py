"""Fill xarray objects (DataArray, Dataset); the module-level functions behind the accessor."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import xarray as xr

from varda.array.error import model_calibration
from varda.array.fill import fill_array
from varda.array.options import FillOptions
from varda.array.resolved import ModelLike, ResolvedModel
from varda.core.model import VarModel
from varda.errors import InputError
from varda.xr.axes import check_coords, input_error, map_axes, ordered, time_dim
from varda.xr.masks import as_broadcastable, observed_mask, static_mask
from varda.provenance import (BACKGROUND_DIM_ATTR, describe_in_memory, fill_attrs, format_call,
                              observed_flag_attrs, prepend_history)


#: attributes that mean the data were read without CF decoding (numbers stand for missing)
UNDECODED_ATTRS = ("scale_factor", "add_offset", "_FillValue", "missing_value")


def check_decoded(da: xr.DataArray) -> None:
    """Refuse data read without CF decoding: their missing values are numbers, not NaN.

    Raises:
        InputError: naming the variable, the attributes and how to decode.
    """
    name = str(da.name) if da.name is not None else "data"
    found = [k for k in UNDECODED_ATTRS if k in da.attrs]
    if found:
        plain = {k: (da.attrs[k].item() if np.ndim(da.attrs[k]) == 0 and hasattr(da.attrs[k], "item")
                     else da.attrs[k]) for k in found}
        values = ", ".join(f"{k}={v!r}" for k, v in plain.items())
        what = (f"{name} was read without CF decoding: its attributes still hold {values}, so "
                "missing points are numbers rather than NaN and values may be packed integers")
        raise input_error(
            f"{what}; open it with decoding on (xr.open_dataset(path), not mask_and_scale=False "
            "or decode_cf=False) or decode it: ds = xr.decode_cf(ds)",
            f"{what}; varda fill decodes its inputs itself, so check that the attributes are "
            "valid CF (e.g. ncdump -h) or set the missing points to NaN")


def _setup(da: xr.DataArray, info: VarModel, dims, mask):
    check_decoded(da)
    mapping = map_axes(da, info.axes, dims, patch=info.patch_shape)
    check_coords(da, list(mapping.values()))
    valid = static_mask(da, mask, time_dim(da, mapping))
    return mapping, valid


def observations(da: xr.DataArray, *, dims: "Mapping[str, str] | None" = None,
                 mask: "xr.DataArray | bool | None" = None) -> tuple[xr.DataArray, xr.DataArray]:
    """The observations y and Ω (bool, True where observed) of ``da``.

    Args:
        dims: ``{model_axis: dim}``; only its time entry matters here (which dim is time).
        mask: static mask, as in :func:`fill_dataarray` (land is never "observed").

    Returns:
        ``(y, omega)``: y is ``da`` with NaN wherever Ω is False.
    """
    valid = static_mask(da, mask, time_dim(da, dims or {}))
    omega = observed_mask(da, valid)
    name = da.name if da.name is not None else "data"
    return da.where(omega), omega.rename(f"{name}_observed")


def fill_dataarray(da: xr.DataArray, model: "ModelLike | ResolvedModel", *,
                   dims: "Mapping[str, str] | None" = None,
                   mask: "xr.DataArray | bool | None" = None, observed_flag: bool = True,
                   sources: "Sequence[str] | None" = None, error: bool = False,
                   ghrsst: bool = False, options: "FillOptions | None" = None,
                   **option_kwargs: Any) -> "xr.DataArray | xr.Dataset":
    """Fill the gaps (NaN) of a DataArray with a learned variational model.

    Args:
        da: float data in raw units, NaN where missing; may be dask-backed (stays lazy).
        model: a loaded model, a checkpoint path or a pretrained name.
        dims: ``{model_axis: dim}`` where names and CF axes do not say it.
        mask: static mask: ``None`` = cells NaN at every time step are land and stay NaN;
            ``False`` = fill everywhere; or a boolean DataArray, True where the field is defined.
        observed_flag: attach the coordinate ``<name>_observed`` (int8: 1 observed, 0 filled
            or outside the field).
        sources: input file names recorded in the provenance (default: ``da.encoding["source"]``).
        error: also return the error standard deviation of the fill, ``<name>_error`` (same
            units), from the model's calibration: the result is then a Dataset of the field
            and its error, linked by CF ``ancillary_variables`` (see :mod:`varda.xr.error`).
        ghrsst: with ``error``, name them ``analysed_sst`` and ``analysis_error`` (GHRSST L4).
        options: a :class:`varda.array.FillOptions`.
        **option_kwargs: its fields (``keep_observed``, ``complete``, ``overlap``, ``n_iter``,
            ``batch_size``, ``device``), overriding ``options``.

    Returns:
        DataArray with ``da``'s dims, coords and name, in its float dtype (at least float32;
        observed values kept are bit-identical), plus provenance attrs; with ``error=True`` a
        Dataset of it and its error.
    """
    opts = FillOptions.from_kwargs(options, **option_kwargs)
    name = str(da.name) if da.name is not None else "data"
    if ghrsst and not error:
        raise InputError("ghrsst=True names the field and its error analysed_sst and "
                         "analysis_error: pass error=True as well")
    rm = ResolvedModel.of(model)    # once per call; handed down to the array fill
    info = rm.model
    mapping, valid = _setup(da, info, dims, mask)
    order = ordered(da, mapping, info.axes)
    data = da.transpose(*order)
    tdim = time_dim(da, mapping)
    res = fill_array(
        data.data, rm, valid=as_broadcastable(valid, order), options=opts, name=name,
        axis_names=[mapping[a] for a in info.axes], lead_names=order[:-len(info.axes)],
        return_report=True, background_axis=order.index(tdim) if tdim in order else None,
        error=error)
    out, report = res[0], res[-1]
    settings = {k: v for k, v in report.settings.items() if k in FillOptions.names()}
    if dims:
        settings["dims"] = dict(dims)
    call = format_call("varda.fill", name, report.model_name, settings)
    if sources is None:
        sources = [str(da.encoding["source"])] if da.encoding.get("source") \
            else [describe_in_memory(da)]
    filled = xr.DataArray(out, dims=order, coords=data.coords, name=da.name,
                          attrs=fill_attrs(da.attrs, report, call, sources=sources)
                          ).transpose(*da.dims)
    if "background" in report.settings:   # each value depends on the whole record along tdim
        filled.attrs[BACKGROUND_DIM_ATTR] = tdim
    if "source" in da.encoding:  # so that writers refuse to overwrite the input file
        filled.encoding["source"] = da.encoding["source"]
    if observed_flag:
        flag = observed_mask(da, valid).astype(np.int8)
        flag.attrs = observed_flag_attrs(name)
        filled = filled.assign_coords({f"{name}_observed": flag})
    if error:
        from varda.xr.error import with_error
        sigma = xr.DataArray(res[1], dims=order, coords=data.coords).transpose(*da.dims)
        if tdim is not None:   # like the background, it depends on the whole record in time
            sigma.attrs[BACKGROUND_DIM_ATTR] = tdim
        return with_error(filled, sigma, model_calibration(info), ghrsst=ghrsst)
    return filled


def _fillable(ds: xr.Dataset, info: VarModel, dims) -> list[str]:
    out = []
    for v, arr in ds.data_vars.items():
        if arr.dtype.kind != "f" or str(v).endswith("_observed"):
            continue
        try:
            map_axes(arr, info.axes, dims)
        except InputError:
            continue
        out.append(str(v))
    return out


def fill_dataset(ds: xr.Dataset, model: "ModelLike | ResolvedModel", *,
                 variables: "Sequence[str] | None" = None,
                 sources: "Sequence[str] | None" = None, options: "FillOptions | None" = None,
                 **kwargs: Any) -> xr.Dataset:
    """Fill several variables of a Dataset (default: every float variable with the model's axes).

    Other variables are kept as they are. ``kwargs`` are those of :func:`fill_dataarray`
    (``dims``, ``mask``, ``observed_flag``, ``error``, ``ghrsst``) and the fields of :class:`varda.array.FillOptions`;
    ``sources`` (default: ``ds.encoding["source"]``) are the input files recorded in the
    provenance.
    """
    option_kwargs, xr_kwargs = FillOptions.split(kwargs)
    opts = FillOptions.from_kwargs(options, **option_kwargs)
    rm = ResolvedModel.of(model)    # once for every variable
    info = rm.model
    names = list(variables) if variables is not None else _fillable(ds, info,
                                                                     xr_kwargs.get("dims"))
    missing = [v for v in names if v not in ds.data_vars]
    if missing:
        raise input_error(
            f"variables {missing} are not in the dataset; it has {list(ds.data_vars)}",
            f"--var {' --var '.join(missing)}: not in the input; it has {list(ds.data_vars)}")
    if not names:
        axes = ", ".join(info.axes)
        raise input_error(
            f"no float variable of the dataset has the model's axes ({axes}); its variables are "
            f"{list(ds.data_vars)} with dims {tuple(ds.dims)}: pass variables=[...] and "
            "dims={model_axis: dim}, or use a model of the data's axes",
            f"no float variable of the input has the model's axes ({axes}); its variables are "
            f"{list(ds.data_vars)} with dims {tuple(ds.dims)}: pass --var NAME and "
            "--dims AXIS=DIM, or use a model of the data's axes")
    if sources is None:
        sources = [str(ds.encoding["source"])] if ds.encoding.get("source") else None
    out = ds.copy()
    for v in names:
        res = fill_dataarray(ds[v], rm, options=opts, sources=sources, **xr_kwargs)
        if isinstance(res, xr.Dataset):       # error=True: the field and its error
            out = out.drop_vars(v).merge(res)
        else:
            out[v] = res
    out.attrs = prepend_history(ds.attrs, f"varda.fill(dataset, variables={names})")
    return out
