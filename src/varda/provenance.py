"""Provenance attributes (CF ``history``, ``source``, ``references``, model, solver, filled fraction)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from varda._version import __version__

#: the method: learned variational models and solvers (the 4DVarNet family)
REFERENCES = (
    "Fablet, R., Drumetz, L. and Rousseau, F. (2021): End-to-end learning of variational "
    "models and solvers for the resolution of interpolation problems. IEEE International "
    "Conference on Acoustics, Speech and Signal Processing (ICASSP 2021)")
#: the optimal-interpolation background that models trained by varda.train correct
OI_REFERENCE = (
    "optimal interpolation background: Bretherton, F. P., Davis, R. E. and Fandry, C. B. "
    "(1976): A technique for objective analysis and design of oceanographic experiments "
    "applied to MODE-73. Deep-Sea Research, 23, 559-582")
#: ACDD-1.3 global attributes copied from the input when it has them; the others (institution,
#: creator_*, ...) are left for the user to set, e.g. ``ds.attrs["institution"] = ...``
ACDD_FROM_INPUT = ("title", "summary", "institution", "project", "program", "keywords",
                   "license", "creator_name", "creator_email", "creator_url",
                   "creator_institution", "publisher_name", "publisher_email",
                   "publisher_url", "naming_authority", "id", "acknowledgement")
#: attribute of a variable filled with a background along this dim: each of its values depends
#: on the whole record along it (so writers stream along another dim)
BACKGROUND_DIM_ATTR = "varda_background_dim"
SOURCE = f"varda {__version__}: learned variational gap filling (4DVarNet-style)"


def history_line(call: str) -> str:
    """One CF history entry: UTC time, varda version, the call."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{now} varda {__version__}: {call}"


def prepend_history(attrs: Mapping[str, Any], call: str) -> dict:
    """A copy of ``attrs`` with a history line for ``call`` prepended (newest first, as NCO does)."""
    out = dict(attrs)
    old = str(out.get("history", "")).strip()
    out["history"] = history_line(call) + ("\n" + old if old else "")
    return out


def format_call(func: str, target: str, model_name: str, options: Mapping[str, Any]) -> str:
    """``varda.fill(sst, model='l96-unet-joint', keep_observed=True)`` style text for history."""
    opts = "".join(f", {k}={v!r}" for k, v in options.items())
    return f"{func}({target}, model={model_name!r}{opts})"


def fill_attrs(attrs: Mapping[str, Any], report, call: str,
               sources: Sequence[str] = ()) -> dict:
    """The attributes of a filled variable: the input's plus provenance.

    ``varda_model_path`` is the checkpoint (or pretrained name; empty for a model built in
    memory), ``varda_inputs`` the input files (newline-separated), ``varda_keep_observed``
    1 or 0 and ``varda_solver`` the JSON of the resolved :class:`~varda.array.FillOptions`
    (with ``keep_observed_from``: ``"option"`` or ``"model default"``, patch and axes).
    """
    out = prepend_history(attrs, call)
    out["source"] = SOURCE
    out["references"] = references(report.settings)
    out["varda_version"] = __version__
    out["varda_model"] = report.model_name
    out["varda_model_path"] = report.model_path
    out["varda_model_sha256"] = report.model_sha256
    out["varda_inputs"] = "\n".join(str(s) for s in sources)
    out["varda_keep_observed"] = int(bool(report.settings.get("keep_observed")))
    out["varda_solver"] = json.dumps(report.settings, sort_keys=True)
    out["varda_fraction_filled"] = float(round(report.fraction_filled, 6))
    return out


def observed_flag_attrs(name: str) -> dict:
    """CF flag attributes of the companion variable marking observed points."""
    return {"long_name": f"points of {name} that were observed (1) or filled by varda (0)",
            "flag_values": [0, 1], "flag_meanings": "filled_or_outside_field observed"}


def references(settings: Mapping[str, Any]) -> str:
    """The references of a fill: the method, plus the OI when the model fills from an OI
    background (newline-separated)."""
    refs = [REFERENCES]
    if (settings.get("background") or {}).get("kind") == "oi":
        refs.append(OI_REFERENCE)
    return "\n".join(refs)


def describe_in_memory(da: Any) -> str:
    """``varda_inputs`` of data that came from no file: its name, shape and time range."""
    name = da.name if da.name is not None else "data"
    shape = ", ".join(f"{d}={n}" for d, n in da.sizes.items())
    text = f"in-memory DataArray {name} ({shape})"
    for dim in da.dims:
        if dim in da.indexes and getattr(da.indexes[dim], "dtype", None) is not None and \
                da.indexes[dim].dtype.kind == "M" and len(da.indexes[dim]):
            idx = da.indexes[dim]
            text += f", {dim} {idx[0]:%Y-%m-%d} to {idx[-1]:%Y-%m-%d}"
            break
    return text


def acdd_attrs(attrs: Mapping[str, Any], names: Sequence[str]) -> dict:
    """ACDD-1.3 global attributes of a filled file: the input's (:data:`ACDD_FROM_INPUT`),
    else a title and summary saying what was filled, ``date_created`` now (UTC)."""
    out = {k: attrs[k] for k in ACDD_FROM_INPUT if k in attrs}
    what = ", ".join(names) or "fields"
    if "title" in out:
        out["title"] = f"{out['title']} (gaps filled by varda)"
    else:
        out["title"] = f"{what}, gaps filled by varda"
    out.setdefault("summary", f"{what} with their gaps (missing values) filled by a learned "
                              "variational solver (varda, 4DVarNet family); observed points "
                              "are flagged in the <name>_observed variables")
    out["date_created"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    conv = str(attrs.get("Conventions", "CF-1.8"))
    out["Conventions"] = conv if "ACDD" in conv else f"{conv}, ACDD-1.3"
    return out
