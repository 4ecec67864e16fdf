"""Provenance attributes (CF ``history``, ``source``, ``references``, model, solver, filled fraction)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from varda._version import __version__

REFERENCES = (
    "Fablet, R., Chapron, B., Drumetz, L., Memin, E., Pannekoucke, O. and Rousseau, F. (2021): "
    "Learning variational data assimilation models and solvers. Journal of Advances in Modeling "
    "Earth Systems, 13, e2021MS002572, doi:10.1029/2021MS002572")
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
    out["references"] = REFERENCES
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
