"""``varda.fill``: one entry point for NumPy arrays, dask arrays, DataArrays and Datasets."""
from __future__ import annotations

import os
from typing import Any

import xarray as xr

from varda.array.fill import fill_array
from varda.core.model import VarModel
from varda.xr.fill import fill_dataarray, fill_dataset


def fill(obs: Any, model: "VarModel | str | os.PathLike", *, mask: Any = None,
         keep_observed: bool = False, complete: str = "denoise", overlap: float = 0.5,
         n_iter: "int | None" = None, batch_size: int = 64, device: str = "auto",
         **xr_options: Any) -> Any:
    """Fill the gaps (NaN) of ``obs`` with a learned variational model.

    Args:
        obs: a NumPy or dask array (the model's axes last, leading axes batched, raw units, NaN
            where missing), a DataArray (axes found by name, CF axis or ``dims=``), or a Dataset.
        model: a loaded model, a checkpoint path or a pretrained name
            (:func:`varda.pretrained_names`).
        mask: where the field is defined (True) — for arrays a bool array broadcastable to
            ``obs``; for xarray see :func:`varda.xr.fill_dataarray` (default: land = NaN at
            every time step).
        keep_observed: keep observations bit-for-bit (default: solver estimate everywhere).
        complete: a window with no gap is ``"denoise"``-d (default) or returned ``"unchanged"``;
            it never comes back with NaN.
        overlap: tile overlap as a fraction of the model's patch.
        n_iter: solver iterations (default: the model's).
        batch_size: tiles per solver call.
        device: ``"auto"`` (GPU if present), ``"cpu"``, ``"cuda"``.
        **xr_options: DataArray/Dataset only: ``dims=``, ``observed_flag=``, ``variables=``.

    Returns:
        The filled field, float32, of ``obs``'s type and shape (lazy for dask input).
    """
    common = dict(keep_observed=keep_observed, complete=complete, overlap=overlap, n_iter=n_iter,
                  batch_size=batch_size, device=device)
    if isinstance(obs, xr.Dataset):
        return fill_dataset(obs, model, mask=mask, **common, **xr_options)
    if isinstance(obs, xr.DataArray):
        return fill_dataarray(obs, model, mask=mask, **common, **xr_options)
    if xr_options:
        raise TypeError(f"options {sorted(xr_options)} apply to xarray objects only")
    return fill_array(obs, model, valid=mask, **common)
