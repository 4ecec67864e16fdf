"""Map a model's axis names to a DataArray's dims: by name, then CF axis (cf-xarray), or explicit."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import xarray as xr

from varda.errors import InputError


def input_error(message: str, cli: "str | None" = None) -> InputError:
    """An :class:`InputError` whose ``cli_message`` spells the fix with ``varda fill`` options
    (``--dims site=<dim>``) instead of Python (``dims={'site': '<dim>'}``); the CLI prints it."""
    err = InputError(message)
    err.cli_message = cli if cli is not None else message  # type: ignore[attr-defined]
    return err


def _tuple(names: "Sequence[Any]") -> str:
    return "(" + ", ".join(str(n) for n in names) + ")"

#: model axis name → CF axis letter, so a model axis "lat" finds a dim "latitude" or "nav_lat"
CF_AXIS = {"time": "T", "t": "T", "lat": "Y", "latitude": "Y", "y": "Y", "lon": "X",
           "longitude": "X", "x": "X", "depth": "Z", "z": "Z", "level": "Z", "lev": "Z"}


def _cf_candidates(da: xr.DataArray, axis: str) -> list[str]:
    letter = CF_AXIS.get(axis.lower())
    if letter is None:
        return []
    import cf_xarray  # noqa: F401  (registers .cf)

    found: list[str] = []
    names = list(da.cf.axes.get(letter, []))
    key = {"Y": "latitude", "X": "longitude", "T": "time", "Z": "vertical"}[letter]
    names += list(da.cf.coordinates.get(key, []))
    for n in names:
        dims: tuple = da[n].dims if n in da.coords or n in da.dims else ()
        if n in da.dims:
            dims = (n,)
        if len(dims) == 1 and dims[0] not in found:
            found.append(str(dims[0]))
    return found


def map_axes(da: xr.DataArray, model_axes: Sequence[str],
             dims: "Mapping[str, str] | None" = None,
             patch: "Sequence[int] | None" = None) -> dict[str, str]:
    """Which dim of ``da`` plays each model axis.

    Order of precedence: ``dims={model_axis: dim}``, a dim of the same name, then the dim whose
    coordinate cf-xarray identifies as the same CF axis (T/Y/X/Z), e.g. model axis ``"lat"`` →
    dim ``"latitude"``.

    Args:
        patch: the model's patch shape (for messages only).

    Raises:
        InputError: an axis that cannot be found (the message lists the dims and the fix, in
            Python and, as ``cli_message``, in ``varda fill`` options).
    """
    name = da.name if da.name is not None else "data"
    dims = dict(dims or {})
    unknown = set(dims) - set(model_axes)
    if unknown:
        raise input_error(
            f"dims= names {sorted(unknown)} which are not axes of the model "
            f"{_tuple(model_axes)}; give {{model_axis: dim}}",
            f"--dims names {sorted(unknown)} which are not axes of the model "
            f"{_tuple(model_axes)}; give --dims AXIS=DIM with AXIS in {', '.join(model_axes)}")
    out: dict[str, str] = {}
    for ax in model_axes:
        if ax in dims:
            dim = dims[ax]
            if dim not in da.dims:
                raise input_error(
                    f"dims={{{ax!r}: {dim!r}}} but {name!r} has no dim {dim!r}; its dims are "
                    f"{tuple(da.dims)}",
                    f"--dims {ax}={dim} but {name!r} has no dim {dim!r}; its dims are "
                    f"{_tuple(da.dims)}")
        elif ax in da.dims:
            dim = ax
        else:
            cands = [c for c in _cf_candidates(da, ax) if c not in out.values()]
            if len(cands) != 1:
                raise _missing_axis(name, da, ax, cands, model_axes, patch)
            dim = cands[0]
        if dim in out.values():
            raise input_error(f"dim {dim!r} of {name!r} is mapped to two model axes; fix dims=",
                              f"dim {dim!r} of {name!r} is mapped to two model axes; fix --dims")
        out[ax] = dim
    return out


def _letter(da: xr.DataArray, dim: Any) -> "str | None":
    """The CF axis letter a dim seems to play: by its name, else by cf-xarray on its coordinate."""
    letter = CF_AXIS.get(str(dim).lower())
    if letter is not None:
        return letter
    for key in ("lat", "lon"):
        if key in str(dim).lower():
            return {"lat": "Y", "lon": "X"}[key]
    if dim in da.coords:
        import cf_xarray  # noqa: F401  (registers .cf)
        for ltr, names in da.cf.axes.items():
            if dim in names:
                return str(ltr)
    return None


def suggest_dims(da: xr.DataArray, model_axes: Sequence[str]) -> dict[str, str]:
    """A guess of ``{model_axis: dim}`` for the axes that no dim plays by name or CF axis: each
    is paired with an unused dim of the same CF axis letter, else (for an axis of no known
    letter) with the next unused dim of no conflicting letter. Used to word error messages."""
    taken = {ax: ax for ax in model_axes if ax in da.dims}
    for ax in model_axes:
        if ax not in taken:
            cands = [c for c in _cf_candidates(da, ax) if c not in taken.values()]
            if len(cands) == 1:
                taken[ax] = cands[0]
    free = [str(d) for d in da.dims if d not in taken.values()]
    out: dict[str, str] = {}
    for ax in model_axes:
        if ax in taken:
            continue
        want = CF_AXIS.get(ax.lower())
        same = [d for d in free if _letter(da, d) == want] if want else []
        loose = [d for d in free if _letter(da, d) in (None, want)]
        if not loose and want is None:     # e.g. 'site': any free dim but time
            loose = [d for d in free if _letter(da, d) != "T"]
        pick = same or loose
        if pick:
            out[ax] = pick[0]
            free.remove(pick[0])
    return out


def _missing_axis(name: Any, da: xr.DataArray, ax: str, cands: list, model_axes: Sequence[str],
                  patch: "Sequence[int] | None") -> InputError:
    """The error for a model axis that no dim of ``da`` plays, with both spellings of the fix."""
    why = f"several candidates {cands}" if cands else "no dim of that name or CF axis"
    of = f"a model of {_tuple(model_axes)}"
    if patch is not None:
        of += f" (patch {' x '.join(str(p) for p in patch)})"
    head = (f"{name!r} lacks the model axis {ax!r} ({why}); its dims are {tuple(da.dims)}. "
            f"This is {of}, and {name!r} is a field of {_tuple(da.dims)}.")
    guess = suggest_dims(da, model_axes) or {ax: "<dim>"}
    other = (f" If no dim plays {ax!r}, this model does not fit this data: use a model of "
             f"the data's axes")
    py = (f"{head} If its dims play the model's axes, map them explicitly, e.g. "
          f"dims={guess!r} (or rename the dims).{other}, e.g. one trained with "
          f"varda.train(da, varda.model_config({tuple(str(d) for d in da.dims)!r}, patch)).")
    cli = (f"{head} If its dims play the model's axes, map them: --dims "
           f"{','.join(f'{a}={d}' for a, d in guess.items())}.{other}, "
           f"e.g. one trained with: varda train FILE --var {name} "
           f"--axes {','.join(str(d) for d in da.dims)} --patch "
           f"{','.join(f'{d}=N' for d in da.dims)} -o models/{name}")
    return input_error(py, cli)


def check_coords(da: xr.DataArray, dims: Sequence[str]) -> None:
    """Model axes need unique, monotonic coordinates (neighbours in the array are neighbours).

    Raises:
        InputError: duplicated or non-monotonic coordinate values (the message gives the fix).
    """
    name = da.name if da.name is not None else "data"
    for dim in dims:
        if dim not in da.indexes:
            continue
        index = da.indexes[dim]
        if index.hasnans:
            where = [int(i) for i in np.flatnonzero(np.asarray(index.isna()))[:5]]
            what = (f"{name!r}: coordinate {dim!r} has NaN / NaT values (at positions {where}), "
                    "so the points there have no place on the axis; drop them first")
            raise input_error(f"{what}, e.g. da.dropna({dim!r}) after da = "
                              f"da.where(da[{dim!r}].notnull(), drop=True)",
                              f"{what}, e.g. with xarray: ds.where(ds[{dim!r}].notnull(), "
                              "drop=True).to_netcdf(...)")
        if not index.is_unique:
            dup = index[index.duplicated()].unique()[:3]
            what = (f"{name!r}: coordinate {dim!r} has duplicated values (e.g. "
                    f"{list(map(str, dup))}); remove them first")
            raise input_error(f"{what}, e.g. da.drop_duplicates({dim!r})",
                              f"{what} (overlapping input files?), e.g. with xarray: "
                              f"ds.drop_duplicates({dim!r}).to_netcdf(...)")
        if len(index) > 1 and not (index.is_monotonic_increasing or index.is_monotonic_decreasing):
            what = (f"{name!r}: coordinate {dim!r} is not monotonic, so neighbouring array "
                    f"points are not neighbours; sort it first")
            raise input_error(f"{what}, e.g. da.sortby({dim!r})",
                              f"{what}, e.g. with xarray: ds.sortby({dim!r}).to_netcdf(...)")


def time_dim(da: xr.DataArray, mapping: Mapping[str, str]) -> "str | None":
    """The time dim of ``da``: the one mapped to a model time axis, else a dim named time or CF T."""
    for ax, dim in mapping.items():
        if CF_AXIS.get(ax.lower()) == "T":
            return dim
    if "time" in da.dims:
        return "time"
    cands = _cf_candidates(da, "time")
    return cands[0] if len(cands) == 1 else None


def ordered(da: xr.DataArray, mapping: Mapping[str, str], model_axes: Sequence[str]) -> list[str]:
    """Dims in fill order: every other (batch) dim first, then the model axes in model order."""
    model_dims = [mapping[a] for a in model_axes]
    return [str(d) for d in da.dims if d not in model_dims] + model_dims


__all__ = ["map_axes", "suggest_dims", "check_coords", "time_dim", "ordered", "CF_AXIS", "input_error"]


def check_time_sorted(da: xr.DataArray, time_dim: str) -> None:
    """Refuse duplicated or non-increasing time coordinates (training splits and interpolation
    in time need them sorted), naming the variable, the dim and the fix."""
    name = da.name if da.name is not None else "data"
    if time_dim not in da.indexes:
        return
    index = da.indexes[time_dim]
    if not index.is_unique:
        dup = index[index.duplicated()].unique()[:3]
        raise InputError(f"{name!r}: time coordinate {time_dim!r} has duplicated values (e.g. "
                         f"{list(map(str, dup))}); remove them first, e.g. "
                         f"da.drop_duplicates({time_dim!r})")
    if not index.is_monotonic_increasing:
        raise InputError(f"{name!r}: time coordinate {time_dim!r} is not sorted (not increasing); "
                         f"sort it first, e.g. da.sortby({time_dim!r})")
