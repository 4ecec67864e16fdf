"""xarray layer: the ``.varda`` accessor, axis mapping, static masks, and the DataArray and
Dataset fills. The entry point :func:`varda.fill` (any input type) lives in
:mod:`varda.xr.entry`; this package binds no name that hides one of its modules.

Importing this package registers the accessor (xarray only); the fill functions, which need
torch, are imported on first use.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from varda.xr import accessor  # noqa: F401  (registers .varda on DataArray and Dataset)

if TYPE_CHECKING:
    from varda.xr.fill import fill_dataarray, fill_dataset, observations

_LAZY = {"fill_dataarray": "varda.xr.fill",
         "fill_dataset": "varda.xr.fill", "observations": "varda.xr.fill"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'varda.xr' has no attribute {name!r}")


__all__ = ["fill_dataarray", "fill_dataset", "observations"]
