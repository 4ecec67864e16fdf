"""The regions a Zarr output is written, recorded and resumed in: blocks of the dask chunk grid.

A region is the unit of work of :func:`varda.to_zarr`: it is computed, written, then recorded
(a marker after its data), so an interruption loses at most the region being written. Regions
follow the dask chunks of the filled field along every dim:

* along the streaming dim (``region_dim``, by default the first dim of the output), a region
  holds ``region_size`` points, or ``chunks_per_region`` chunks (default 4: dask computes the
  chunks of a region side by side, so regions of one block would leave cores idle);
* along every other dim — members, ensembles, years of a long archive, and the model's own
  axes where the fill was chunked along them — a region holds one dask chunk. A chunk of a fill
  is computed from its own points plus a halo of the *input*, so cutting regions there costs no
  recomputation;
* for a fill with a background (attribute ``varda_background_dim``), only along the streaming
  dim, which is not the background's: each value depends on the whole record along the
  background's dim, and a chunk's halo holds its neighbours' background, which regions of one
  block would recompute (:func:`varda.to_zarr` passes the other dims as ``whole``).

Cuts are placed only where a dask chunk ends *and* a Zarr chunk ends, so a region is made of
whole dask blocks (none is computed twice) and whole Zarr chunks (no chunk is shared by two
regions). The layout depends only on the chunks and these options, so a rerun of the same fill
finds the same regions.
"""
from __future__ import annotations

import itertools
from typing import Any, Iterable

import xarray as xr

def _dask_chunks(ds: xr.Dataset) -> dict[str, tuple[int, ...]]:
    """The dask chunks of each dim (the first data variable that is chunked along it)."""
    out: dict[str, tuple[int, ...]] = {}
    for var in ds.data_vars.values():
        if var.chunks is None:
            continue
        for d, c in zip(var.dims, var.chunks):
            out.setdefault(str(d), tuple(int(n) for n in c))
    return out


def _cuts(chunks: tuple[int, ...], zarr_chunk: int, step: int) -> list[int]:
    """Region starts along one dim: dask boundaries that are also Zarr chunk boundaries, at
    least ``step`` points apart."""
    starts, edge, last = [0], 0, 0
    for c in chunks[:-1]:
        edge += c
        if edge % zarr_chunk == 0 and edge - last >= step:
            starts.append(edge)
            last = edge
    return starts


def plan_regions(ds: xr.Dataset, *, dim: str, region_size: "int | None" = None,
                 chunks_per_region: int = 4,
                 whole: Iterable[str] = ()
                 ) -> tuple[xr.Dataset, list[dict[str, tuple[int, int]]]]:
    """Uniform Zarr chunks for ``ds`` and its regions, in the order they are written.

    Args:
        ds: the output (dask-backed data variables; NumPy ones make one region).
        dim: the streaming dim, cut every ``region_size`` points (rounded down to whole
            chunks, at least one) or every ``chunks_per_region`` dask chunks.
        whole: dims never cut (a background was computed along them).

    Returns:
        ``(ds, regions)``: ``ds`` rechunked to the Zarr chunks (the first dask chunk of each
        dim: a rechunk of the filled blocks, no recomputation), and the regions, the last dim
        varying fastest.
    """
    dask_chunks = _dask_chunks(ds)
    zarr_chunks = {d: c[0] for d, c in dask_chunks.items()}
    spec: dict[Any, int] = {**zarr_chunks}
    ds = ds.chunk(spec) if spec else ds
    for v in ds.variables.values():
        v.encoding.pop("chunks", None)
    no_cut = {str(d) for d in whole}
    pieces: list[list[tuple[int, int]]] = []
    dims = [str(d) for d in ds.dims]
    for d in dims:
        n = int(ds.sizes[d])
        chunks = dask_chunks.get(d, (n,))
        if d in no_cut and d != dim:
            starts = [0]
        elif d == dim:
            z = zarr_chunks.get(d, n)
            step = region_size if region_size else z * max(1, chunks_per_region)
            starts = _cuts(chunks, z, max(z, (step // z) * z))  # whole chunks, at least one
        else:
            starts = _cuts(chunks, zarr_chunks.get(d, n), 1)
        pieces.append([(s, e) for s, e in zip(starts, [*starts[1:], n])])
    regions = [dict(zip(dims, combo)) for combo in itertools.product(*pieces)]
    return ds, regions


def cut_dims(regions: list[dict[str, tuple[int, int]]]) -> list[str]:
    """The dims along which the regions differ (cut into more than one piece)."""
    if not regions:
        return []
    return [d for d in regions[0] if len({r[d] for r in regions}) > 1]


def as_json(regions: list[dict[str, tuple[int, int]]]) -> list[dict[str, list[int]]]:
    """The regions as JSON-able dicts (recorded in the fingerprint of the store)."""
    return [{d: [int(lo), int(hi)] for d, (lo, hi) in r.items()} for r in regions]
