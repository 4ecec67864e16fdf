"""Turn a :class:`~varda.core.model.VarModel` into the batched NumPy solver the patch engine calls."""
from __future__ import annotations

import numpy as np
import torch

from varda.array.patches import SolveFn
from varda.core.model import VarModel


def _fixed(part: dict, nd: int) -> list[bool]:
    """Axes a prior/solver config cannot see tiled or padded (recursing into folded parts)."""
    fixed = [False] * nd
    kind = part.get("type")
    if kind == "fold":  # the folded axis became channels; the inner part sees the others
        axis = int(part.get("axis", -1)) % nd
        others = [i for i in range(nd) if i != axis]
        inner = _fixed(part.get("inner", {}), nd - 1)
        for i, f in zip(others, inner):
            fixed[i] = f
        fixed[axis] = True
        return fixed
    if kind == "flow":  # an ODE on the state: every axis but time is the state vector
        t = int(part.get("time_axis", 0)) % nd
        return [i != t for i in range(nd)]
    per = part.get("periodic", False)
    per = [per] * nd if isinstance(per, bool) else list(per)
    return [bool(p) for p in per] if len(per) == nd else fixed


def fixed_axes(model: VarModel) -> tuple[bool, ...]:
    """Per model axis: True where the model cannot tile or pad the axis, so its length must
    equal the patch: periodic padding (Lorenz-96 sites), an axis folded into channels, or the
    state axes of an ODE-flow prior."""
    cfg = model.config
    nd = len(model.axes)
    out = [False] * nd
    for part in (cfg.get("prior", {}), cfg.get("solver", {})):
        out = [a or b for a, b in zip(out, _fixed(part, nd))]
    return tuple(out)


def model_solver(model: VarModel, *, n_iter: "int | None" = None, batch_size: int = 64) -> SolveFn:
    """A ``solve(y, observed)`` running ``model.reconstruct`` in raw units, ``batch_size`` at a time."""
    device = next(model.parameters()).device

    def solve(y: np.ndarray, observed: np.ndarray) -> np.ndarray:
        out = np.empty(y.shape, np.float32)
        for i in range(0, len(y), batch_size):
            yb = torch.from_numpy(np.ascontiguousarray(y[i:i + batch_size], np.float32))
            mb = torch.from_numpy(np.ascontiguousarray(observed[i:i + batch_size]))
            x = model.reconstruct(yb.unsqueeze(1).to(device), mb.unsqueeze(1).to(device),
                                  n_iter=n_iter)
            out[i:i + batch_size] = x[:, 0].float().cpu().numpy()
        return out

    return solve
