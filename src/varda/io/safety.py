"""Output safety: never overwrite an input; an existing output only when asked."""
from __future__ import annotations

import errno
import os
import shutil
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


def is_enospc(error: BaseException) -> bool:
    """True when ``error`` (or what caused it) is a "no space left on device" error."""
    seen = 0
    exc: "BaseException | None" = error
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left on device" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


def free_bytes(path: "str | os.PathLike") -> "int | None":
    """Free bytes on the filesystem holding ``path`` (its nearest existing parent)."""
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return shutil.disk_usage(p).free
    except OSError:
        return None


def space_error(shown: str, where: str, need: int, *, note: str = "") -> OutputError:
    """The "disk full" error: the path, the space needed, what is kept, what to do."""
    free = free_bytes(where) if "://" not in where else None
    have = f", {_mib(free)} free" if free is not None else ""
    return OutputError(f"no space left on the device while writing {shown!r} ({where}): about "
                       f"{_mib(need)} more needed (uncompressed){have}. {note}".rstrip())


def check_space(target: Path, need: int) -> None:
    """Refuse before computing when the filesystem of ``target`` cannot hold ``need`` bytes.

    Raises:
        OutputError: naming the path, the space needed and the space free.
    """
    free = free_bytes(target.parent)
    if free is not None and free < need:
        raise OutputError(
            f"not enough space for {str(target)!r}: the output needs about {_mib(need)} "
            f"(uncompressed float32) and {str(target.parent)!r} has {_mib(free)} free; free "
            "space or write elsewhere (nothing was computed or written)")
