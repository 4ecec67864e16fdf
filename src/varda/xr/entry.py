"""The public entry point :func:`varda.fill`: one call for NumPy arrays, dask arrays, DataArrays
and Datasets, routed to the array or xarray fill."""
from __future__ import annotations

from typing import Any

import xarray as xr

from varda.array.fill import fill_array
from varda.array.options import FillOptions
from varda.array.resolved import ModelLike, ResolvedModel
from varda.xr.fill import fill_dataarray, fill_dataset


def fill(obs: Any, model: "ModelLike | ResolvedModel", *, mask: Any = None,
         options: "FillOptions | None" = None, **kwargs: Any) -> Any:
    """Fill the gaps (NaN) of ``obs`` with a learned variational model.

    Args:
        obs: a NumPy or dask array (the model's axes last, leading axes batched, raw units, NaN
            where missing), a DataArray (axes found by name, CF axis or ``dims=``), or a Dataset.
        model: a loaded model, a checkpoint path or a pretrained name
            (:func:`varda.pretrained_names`).
        mask: where the field is defined (True) — for arrays a bool array broadcastable to
            ``obs``; for xarray see :func:`varda.xr.fill_dataarray` (default: land = NaN at
            every time step).
        options: a :class:`varda.array.FillOptions` (the solver settings).
        **kwargs: the fields of :class:`varda.array.FillOptions`, overriding ``options``:
            ``keep_observed`` (None = the model's default, True keeps observations
            bit-for-bit, False returns the solver estimate everywhere), ``complete``
            (``"denoise"`` or ``"unchanged"`` for windows without gap), ``overlap``,
            ``n_iter`` (at most the model's ``n_iter_max``), ``batch_size``, ``device``;
            and for DataArray/Dataset only: ``dims=``, ``observed_flag=``, ``sources=``,
            ``variables=`` (Dataset); for arrays only: ``background_axis=`` (the time axis,
            for models that fill anomalies from a background, as those trained by
            :func:`varda.train` do; xarray inputs find it by name); for all inputs
            ``error=True``: also the fill's error standard deviation, from the model's
            calibration (see :func:`varda.calibrate`), and with it ``ghrsst=True`` for the
            GHRSST names ``analysed_sst`` and ``analysis_error``.

    Returns:
        The filled field, float32, of ``obs``'s type and shape (lazy for dask input). With
        ``error=True``: for a DataArray a Dataset of the field, ``<name>_error`` and the
        observed flag, linked by CF ``ancillary_variables``; for arrays a pair
        ``(field, error)``; for a Dataset each filled variable gets its ``<name>_error``.
    """
    option_kwargs, xr_options = FillOptions.split(kwargs)
    opts = FillOptions.from_kwargs(options, **option_kwargs)
    array_only = {"background_axis", "error"}
    if not isinstance(obs, (xr.Dataset, xr.DataArray)) and xr_options.keys() - array_only:
        raise TypeError(f"unknown fill option(s) {sorted(xr_options.keys() - array_only)}"
                        f" for an array; valid options are {', '.join(FillOptions.names())} "
                        "(dims, observed_flag, sources and variables apply to xarray objects "
                        "only)")
    model = ResolvedModel.of(model)   # the one resolution of this call, handed down
    if isinstance(obs, xr.Dataset):
        return fill_dataset(obs, model, mask=mask, options=opts, **xr_options)
    if isinstance(obs, xr.DataArray):
        return fill_dataarray(obs, model, mask=mask, options=opts, **xr_options)
    background_axis = xr_options.pop("background_axis", None)
    error = bool(xr_options.pop("error", False))
    return fill_array(obs, model, valid=mask, options=opts, background_axis=background_axis,
                      error=error)
