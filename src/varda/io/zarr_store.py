"""Zarr output written region by region, so that huge filled archives stream through memory.

Local stores are written to a temporary directory beside the target and renamed at the end;
object storage (any fsspec URL such as ``s3://bucket/out.zarr``) is written in place.
"""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Iterable

import xarray as xr

from varda.errors import OutputError
from varda.io.encoding import prepare
from varda.io.safety import check_target, input_sources


def _zarr_major() -> int:
    import zarr
    return int(zarr.__version__.split(".")[0])


_ZARR3 = _zarr_major() >= 3


def _is_url(store: Any) -> bool:
    return isinstance(store, str) and "://" in store and not store.startswith("file://")


def _uniform_chunks(ds: xr.Dataset, dim: str, size: int) -> xr.Dataset:
    spec: dict[str, int] = {dim: size}
    for var in ds.variables.values():
        if var.chunks is None:
            continue
        for d, c in zip(var.dims, var.chunks):
            if d != dim:
                spec[d] = max(spec.get(d, 0), max(c))
    return ds.chunk(spec)


def _write_regions(ds: xr.Dataset, where: Any, *, dim: str, region_size: "int | None",
                   chunks_per_region: int, progress: bool, storage_options: "dict | None") -> int:
    n = ds.sizes[dim]
    along = [v.chunks[v.dims.index(dim)] for v in ds.data_vars.values()
             if v.chunks is not None and dim in v.dims]
    size = int(along[0][0]) if along else n
    ds = _uniform_chunks(ds, dim, size)
    for v in ds.variables.values():
        v.encoding.pop("chunks", None)
    kw: dict = {"storage_options": storage_options} if storage_options else {}
    if _ZARR3:
        kw["zarr_format"] = 2  # consolidated v2 metadata: readable by every Pangeo tool
    ds.to_zarr(where, mode="w", compute=False, **kw)  # metadata and in-memory variables
    step = region_size if region_size else size * max(1, chunks_per_region)
    step = max(size, (step // size) * size)  # whole Zarr chunks per region
    regions = [slice(s, min(s + step, n)) for s in range(0, n, step)]
    keep = [k for k, v in ds.variables.items() if dim in v.dims]
    part_ds = ds[[k for k in keep if k in ds.data_vars]].drop_vars(
        [k for k in ds.coords if k not in keep], errors="ignore")
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=n, desc=f"writing {dim}", unit=dim)
    for region in regions:
        part_ds.isel({dim: region}).to_zarr(where, region={dim: region}, mode="r+", **kw)
        if bar is not None:
            bar.update(region.stop - region.start)
    if bar is not None:
        bar.close()
    return len(regions)


def to_zarr(obj: "xr.DataArray | xr.Dataset", store: "str | os.PathLike", *,
            overwrite: bool = False, inputs: Iterable["str | os.PathLike"] = (),
            region_dim: "str | None" = None, region_size: "int | None" = None,
            chunks_per_region: int = 4, progress: bool = False,
            storage_options: "dict | None" = None) -> str:
    """Write a filled field to Zarr, region by region along ``region_dim``.

    Each region is computed and written before the next starts, so memory stays bounded by a
    region whatever the archive's length. Float data are float32 with NaN fill, without
    inherited packing; a CF history line is prepended.

    Args:
        obj: the filled DataArray (needs a name) or Dataset.
        store: a local path or an fsspec URL (``s3://…``, ``gs://…``, ``memory://…``).
        overwrite: replace an existing store (an input is never overwritten).
        inputs: extra input paths to protect.
        region_dim: the dim to stream along (default: the first dim of the first variable).
        region_size: points per region along it (default: ``chunks_per_region`` chunks).
        progress: show a progress bar over the regions.
        storage_options: passed to fsspec for URLs (credentials, endpoint).

    Returns:
        The store written (its path or URL).

    Raises:
        OutputError: the store is an input, or exists and ``overwrite`` is False.
    """
    ds = prepare(obj, f"varda.to_zarr({str(store)!r})")
    dim = region_dim or next(iter(ds.data_vars.values())).dims[0]
    if dim not in ds.dims:
        raise OutputError(f"region_dim {dim!r} is not a dim of the output ({tuple(ds.dims)})")
    opts = dict(dim=dim, region_size=region_size, chunks_per_region=chunks_per_region,
                progress=progress, storage_options=storage_options)
    if _is_url(store):
        import fsspec
        fs, root = fsspec.core.url_to_fs(store, **(storage_options or {}))
        if any(str(s) == str(store) for s in [*input_sources(obj), *inputs]):
            raise OutputError(f"output {store!r} is an input: choose another output store")
        if fs.exists(root):
            if not overwrite:
                raise OutputError(f"output {store!r} already exists; choose another store or "
                                  "pass overwrite=True (CLI: --overwrite)")
            fs.rm(root, recursive=True)
        _write_regions(ds, store, **opts)
        return str(store)
    target = check_target(store, inputs=[*input_sources(obj), *inputs], overwrite=overwrite)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        _write_regions(ds, str(tmp), **opts)
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        os.replace(tmp, target)
    finally:
        if Path(tmp).exists():
            shutil.rmtree(tmp)
    return str(target)
