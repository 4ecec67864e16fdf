"""Output safety: never overwrite an input; an existing output only when asked."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import xarray as xr

from varda.errors import OutputError


def input_sources(obj: "xr.DataArray | xr.Dataset") -> list[str]:
    """Files the object was read from, as recorded by xarray in ``encoding['source']``."""
    found: list[str] = []
    arrays = [obj] if isinstance(obj, xr.DataArray) else list(obj.variables.values())
    if isinstance(obj, xr.DataArray):
        arrays += list(obj.coords.values())
    else:
        found += [obj.encoding["source"]] if "source" in obj.encoding else []
    for a in arrays:
        src = a.encoding.get("source")
        if src and src not in found:
            found.append(str(src))
    return found


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_target(path: "str | os.PathLike", *, inputs: Iterable["str | os.PathLike"],
                 overwrite: bool) -> Path:
    """Resolve ``path`` and refuse it if it is an input, or exists and ``overwrite`` is False.

    Raises:
        OutputError: the output would overwrite an input (always refused) or an existing file.
    """
    target = Path(path).expanduser().resolve()
    for src in inputs:
        s = Path(str(src)).expanduser().resolve()
        if s == target or _same(s, target) or target in s.parents:
            raise OutputError(f"output {str(path)!r} is the input {str(src)!r}: varda never "
                              "modifies or overwrites its input; choose another output path")
    if target.exists() and not overwrite:
        raise OutputError(f"output {str(path)!r} already exists; choose another path or pass "
                          "overwrite=True (CLI: --overwrite) to replace it")
    if not target.parent.is_dir():
        raise OutputError(f"cannot write {str(path)!r}: directory {str(target.parent)!r} does "
                          "not exist; create it first")
    return target
