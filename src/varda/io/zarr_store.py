"""Zarr output written region by region: bounded memory, resumable, complete-or-marked-partial.

Local stores are written to ``<target>.partial`` and renamed to the target once every region is
written; object storage (any fsspec URL such as ``s3://bucket/out.zarr``) is written in place and
carries ``varda_status = "partial"`` until the last region is written. Finished regions are
recorded in the store (:mod:`varda.io.resume`), so rerunning an interrupted fill skips them.
"""
from __future__ import annotations

import os
import shutil
import uuid
import warnings
from pathlib import Path
from typing import Any, Iterable

import xarray as xr

from varda.errors import OutputError, VardaWarning
from varda.io.encoding import prepare
from varda.io.regions import as_json, plan_regions
from varda.io.resume import (STATUS_ATTR, differences, fingerprint, mark_done, partial_path,
                             read_fingerprint, regions_done, set_status, write_fingerprint,
                             zarr_status)
from varda.io.safety import check_target, input_sources, is_enospc, space_error
from varda.provenance import BACKGROUND_DIM_ATTR


def _zarr_major() -> int:
    import zarr
    return int(zarr.__version__.split(".")[0])


_ZARR3 = _zarr_major() >= 3


def _is_url(store: Any) -> bool:
    return isinstance(store, str) and "://" in store and not store.startswith("file://")


def _zarr_kw(storage_options: "dict | None") -> dict:
    kw: dict = {"storage_options": storage_options} if storage_options else {}
    if _ZARR3:
        kw["zarr_format"] = 2  # consolidated v2 metadata: readable by every Pangeo tool
    return kw


def _start_or_resume(work: str, fp: dict, *, resume: "bool | None", shown: str,
                     storage_options: "dict | None") -> "set[int] | None":
    """Finished regions of a matching interrupted store at ``work`` (None: start afresh).

    Raises:
        OutputError: an interrupted store written from something else (says what differs), or
            ``resume=True`` with nothing to resume.
    """
    import fsspec

    fs, root = fsspec.core.url_to_fs(work, **(storage_options or {}))
    if not fs.exists(root):
        if resume:
            raise OutputError(f"nothing to resume: no interrupted output at {shown!r} "
                              f"(looked for {work!r}); run without --resume / resume=True")
        return None
    old = read_fingerprint(work, storage_options)
    if old is None:  # interrupted before its first region was planned: nothing to keep
        if resume:
            raise OutputError(f"cannot resume {shown!r}: {work!r} holds no varda progress "
                              "record; rerun with --overwrite (overwrite=True) to start over")
        fs.rm(root, recursive=True)
        return None
    diff = differences(old, fp)
    if diff:
        raise OutputError(
            f"an interrupted fill left {work!r}, written from something else: "
            f"{'; '.join(diff)} differ. Rerun the original command to finish it, or pass "
            "--overwrite (overwrite=True) to discard it and start over, or choose another output")
    return regions_done(work, storage_options)


def default_region_dim(ds: xr.Dataset) -> str:
    """The dim a store is streamed along by default: the first dim of the first variable,
    except a dim along which a fill used a background (attribute ``varda_background_dim``).
    Each value of such a fill depends on the whole record along that dim, so regions cut
    along it would each recompute the background of the whole record; cut along another
    dim, each part of the background is computed once."""
    first = next(iter(ds.data_vars.values()))
    whole = {str(v.attrs[BACKGROUND_DIM_ATTR]) for v in ds.data_vars.values()
             if BACKGROUND_DIM_ATTR in v.attrs}
    return str(next((d for d in first.dims if d not in whole), first.dims[0]))


def to_zarr(obj: "xr.DataArray | xr.Dataset", store: "str | os.PathLike", *,
            overwrite: bool = False, resume: "bool | None" = None,
            inputs: Iterable["str | os.PathLike"] = (), region_dim: "str | None" = None,
            region_size: "int | None" = None, chunks_per_region: int = 4,
            progress: bool = False, storage_options: "dict | None" = None) -> str:
    """Write a filled field to Zarr, region by region; resumable.

    Regions are blocks of the dask chunk grid (:mod:`varda.io.regions`): ``region_size``
    points (``chunks_per_region`` chunks) along ``region_dim``, one dask chunk along every other
    dim; a fill with a background is cut along ``region_dim`` only. Each region is computed, written
    and recorded before the next starts, so memory stays bounded by a region whatever the
    archive's length, and an interruption loses at most the region being written. Float data
    are float32 with NaN fill, without inherited packing; a CF history line is prepended.

    The store is complete or visibly partial: a local store is written to ``<store>.partial``
    and renamed to ``store`` after its last region; an fsspec URL is written in place with the
    attribute ``varda_status = "partial"`` until then (``"complete"`` after). Finished regions
    are recorded in the store, and rerunning the same fill after an interruption (Ctrl-C, a
    killed process or worker, a full disk) writes only the missing ones; the result is the
    one an uninterrupted run writes. :func:`varda.io.zarr_status` tells which state a store is in.

    Args:
        obj: the filled DataArray (needs a name) or Dataset.
        store: a local path or an fsspec URL (``s3://…``, ``gs://…``, ``memory://…``).
        overwrite: replace an existing store, discarding any interrupted one (an input is never
            overwritten). A local store being replaced stays in place until the new one is
            complete.
        resume: ``None`` (default): continue an interrupted store of the same fill if there is
            one; ``True``: require one; ``False``: refuse to touch an interrupted store.
        inputs: extra input paths to protect (and to record in the resume fingerprint).
        region_dim: the dim to stream along (default: :func:`default_region_dim`).
        region_size: points per region along it (default: ``chunks_per_region`` chunks).
        chunks_per_region: dask chunks per region along ``region_dim`` when ``region_size``
            is not given (dask computes them side by side).
        progress: show a progress bar counting the regions written.
        storage_options: passed to fsspec for URLs (credentials, endpoint).

    Returns:
        The store written (its path or URL).

    Raises:
        OutputError: the store is an input; it exists and ``overwrite`` is False; an
            interrupted store comes from another model, input, options or layout (the message
            says which); the disk is full (the message names the path and the space needed).
    """
    sources = [str(s) for s in [*input_sources(obj), *inputs]]
    ds = prepare(obj, f"varda.to_zarr({str(store)!r})")
    ds.attrs[STATUS_ATTR] = "partial"
    dim = str(region_dim or default_region_dim(ds))
    if dim not in ds.dims:
        raise OutputError(f"region_dim {dim!r} is not a dim of the output ({tuple(ds.dims)})")
    # a fill with a background: its chunks' halos hold the neighbours' background, which a
    # region of one block would recompute; such regions are cut along ``dim`` only
    with_bg = any(BACKGROUND_DIM_ATTR in v.attrs for v in ds.data_vars.values())
    whole = {str(d) for d in ds.dims if d != dim} if with_bg else set()
    ds, regions = plan_regions(ds, dim=dim, region_size=region_size,
                               chunks_per_region=chunks_per_region, whole=whole)
    fp = fingerprint(ds, sources=sources, dim=dim, regions=as_json(regions))
    if _is_url(store):
        import fsspec
        fs, root = fsspec.core.url_to_fs(store, **(storage_options or {}))
        if any(s == str(store) for s in sources):
            raise OutputError(f"output {store!r} is an input: choose another output store")
        work, target = str(store), None
        if fs.exists(root):
            state = zarr_status(store, storage_options=storage_options)["status"]
            if overwrite:
                fs.rm(root, recursive=True)
            elif state != "partial" or resume is False:
                raise OutputError(f"output {store!r} already exists ({state}); choose another "
                                  "store or pass overwrite=True (CLI: --overwrite)")
    else:
        target = check_target(store, inputs=sources, overwrite=True)
        if target.exists() and not overwrite:
            raise OutputError(f"output {str(store)!r} already exists; choose another path or "
                              "pass overwrite=True (CLI: --overwrite) to replace it")
        work = partial_path(target)
        if overwrite and os.path.exists(work):
            shutil.rmtree(work)
        if resume is False and os.path.exists(work):
            raise OutputError(f"an interrupted fill left {work!r}; resume it (resume=None/True, "
                              "CLI: rerun or --resume) or discard it (--overwrite)")
    done = _start_or_resume(work, fp, resume=resume, shown=str(store),
                            storage_options=storage_options)
    kw = _zarr_kw(storage_options)
    try:
        if done is None:
            ds.to_zarr(work, mode="w", compute=False, **kw)  # metadata, in-memory variables
            write_fingerprint(work, fp, storage_options)
            done = set()
        else:
            warnings.warn(VardaWarning(
                f"resuming {str(store)!r}: {len(done)} of {len(regions)} regions were already "
                "written by an interrupted run of the same fill"), stacklevel=2)
        _write_regions(ds, work, dim=dim, regions=regions, done=done, progress=progress,
                       storage_options=storage_options, kw=kw)
        set_status(work, "complete", storage_options)
    except Exception as e:
        if is_enospc(e):
            left = len(regions) - len(regions_done(work, storage_options))
            need = sum(v.dtype.itemsize * v.size for v in ds.data_vars.values())
            raise space_error(str(store), work, int(need * left / max(1, len(regions))),
                              note=f"{len(regions) - left} of {len(regions)} regions are kept in "
                                   f"{work!r}; free space and rerun the same command to "
                                   "finish") from e
        raise
    if target is not None:
        _swap_into_place(work, target)
        return str(target)
    return str(store)


def _parts(ds: xr.Dataset, cut: list[str]) -> tuple[xr.Dataset, xr.Dataset]:
    """What every region writes (the variables along a cut dim) and what only the first one
    writes (the others, e.g. lazy coordinates along uncut dims; in-memory ones are written
    with the metadata)."""
    along = {str(k) for k, v in ds.variables.items() if set(map(str, v.dims)) & set(cut)}
    rest = {str(k) for k, v in ds.variables.items() if v.dims and str(k) not in along}
    if not cut:   # a single region: it writes everything
        along, rest = along | rest, set()

    def select(names: set[str]) -> xr.Dataset:
        out = ds[[k for k in ds.data_vars if str(k) in names]]
        return out.drop_vars([k for k in out.coords if str(k) not in names], errors="ignore")
    return select(along), select(rest)


def _write_regions(ds: xr.Dataset, where: str, *, dim: str,
                   regions: list[dict[str, tuple[int, int]]],
                   done: set[int], progress: bool, storage_options: "dict | None",
                   kw: dict) -> None:
    from varda.io.regions import cut_dims
    cut = cut_dims(regions)
    every, first = _parts(ds, cut)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(regions), initial=len(done), unit="region",
                   desc=f"writing regions ({', '.join(cut) or dim})")
    for i, region in enumerate(regions):
        if i in done:
            continue
        for part in (every, first) if i == 0 else (every,):
            own = {d: slice(*region[d]) for d in map(str, part.dims)}
            if own and part.variables:
                part.isel(own).to_zarr(where, region=own, mode="r+", **kw)
        mark_done(where, i, storage_options)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()


def _swap_into_place(work: str, target: Path) -> None:
    """Rename the finished ``work`` store to ``target``; an old target goes only afterwards."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.old")
        os.replace(target, old)
    os.replace(work, target)
    if old is not None:
        shutil.rmtree(old) if old.is_dir() else old.unlink()
