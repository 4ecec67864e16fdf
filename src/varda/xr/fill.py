"""Fill xarray objects (DataArray, Dataset); the module-level functions behind the accessor."""
from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

import numpy as np
import xarray as xr

from varda.array.fill import fill_array
from varda.array.model_cache import resolve_model
from varda.core.model import VarModel
from varda.errors import InputError
from varda.xr.axes import check_coords, map_axes, ordered, time_dim
from varda.xr.masks import as_broadcastable, observed_mask, static_mask
from varda.xr.provenance import fill_attrs, format_call, observed_flag_attrs, prepend_history

ModelLike = "VarModel | str | os.PathLike"


def _setup(da: xr.DataArray, model, dims, mask, device: str):
    info = resolve_model(model, device="cpu") if not isinstance(model, VarModel) else model
    mapping = map_axes(da, info.axes, dims)
    check_coords(da, list(mapping.values()))
    valid = static_mask(da, mask, time_dim(da, mapping))
    return info, mapping, valid


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


def fill_dataarray(da: xr.DataArray, model: ModelLike, *,
                   dims: "Mapping[str, str] | None" = None,
                   mask: "xr.DataArray | bool | None" = None, keep_observed: bool = False,
                   complete: str = "denoise", overlap: float = 0.5, n_iter: "int | None" = None,
                   batch_size: int = 64, device: str = "auto",
                   observed_flag: bool = True) -> xr.DataArray:
    """Fill the gaps (NaN) of a DataArray with a learned variational model.

    Args:
        da: float data in raw units, NaN where missing; may be dask-backed (stays lazy).
        model: a loaded model, a checkpoint path or a pretrained name.
        dims: ``{model_axis: dim}`` where names and CF axes do not say it.
        mask: static mask: ``None`` = cells NaN at every time step are land and stay NaN;
            ``False`` = fill everywhere; or a boolean DataArray, True where the field is defined.
        keep_observed: keep observed values bit-for-bit (default: the solver's estimate).
        complete: a window without gap is ``"denoise"``-d or returned ``"unchanged"``.
        overlap, n_iter, batch_size, device: solver settings (see :class:`varda.array.FillOptions`).
        observed_flag: attach the coordinate ``<name>_observed`` (1 observed, 0 not).

    Returns:
        float32 DataArray with ``da``'s dims, coords and name, plus provenance attrs.
    """
    name = str(da.name) if da.name is not None else "data"
    info, mapping, valid = _setup(da, model, dims, mask, device)
    order = ordered(da, mapping, info.axes)
    data = da.transpose(*order)
    out, report = fill_array(
        data.data, model, valid=as_broadcastable(valid, order), keep_observed=keep_observed,
        complete=complete, overlap=overlap, n_iter=n_iter, batch_size=batch_size, device=device,
        name=name, axis_names=[mapping[a] for a in info.axes], lead_names=order[:-len(info.axes)],
        return_report=True)
    options = {"keep_observed": keep_observed, "complete": complete, "overlap": overlap,
               "n_iter": n_iter, "device": device}
    if dims:
        options["dims"] = dict(dims)
    call = format_call("varda.fill", name, report.model_name, options)
    filled = xr.DataArray(out, dims=order, coords=data.coords, name=da.name,
                          attrs=fill_attrs(da.attrs, report, call)).transpose(*da.dims)
    if "source" in da.encoding:  # so that writers refuse to overwrite the input file
        filled.encoding["source"] = da.encoding["source"]
    if observed_flag:
        flag = observed_mask(da, valid).astype(np.int8)
        flag.attrs = observed_flag_attrs(name)
        filled = filled.assign_coords({f"{name}_observed": flag})
    return filled


def _fillable(ds: xr.Dataset, info: VarModel, dims) -> list[str]:
    out = []
    for v, arr in ds.data_vars.items():
        if arr.dtype.kind != "f":
            continue
        try:
            map_axes(arr, info.axes, dims)
        except InputError:
            continue
        out.append(str(v))
    return out


def fill_dataset(ds: xr.Dataset, model: ModelLike, *, variables: "Sequence[str] | None" = None,
                 device: str = "auto", **options: Any) -> xr.Dataset:
    """Fill several variables of a Dataset (default: every float variable with the model's axes).

    Other variables are kept as they are. ``options`` are those of :func:`fill_dataarray`.
    """
    info = resolve_model(model, device="cpu") if not isinstance(model, VarModel) else model
    names = list(variables) if variables is not None else _fillable(ds, info, options.get("dims"))
    missing = [v for v in names if v not in ds.data_vars]
    if missing:
        raise InputError(f"variables {missing} are not in the dataset; it has {list(ds.data_vars)}")
    if not names:
        raise InputError(f"no float variable of the dataset has the model's axes {info.axes}; "
                         f"pass variables=[...] and dims={{model_axis: dim}}")
    out = ds.copy()
    for v in names:
        filled = fill_dataarray(ds[v], model, device=device, **options)
        out[v] = filled
    out.attrs = prepend_history(ds.attrs, f"varda.fill(dataset, variables={names})")
    return out
