"""Turn a :class:`~varda.core.model.VarModel` into the batched NumPy solver the patch engine calls."""
from __future__ import annotations

import numpy as np
import torch

from varda.array.patches import SolveFn
from varda.core.model import VarModel


def periodic_axes(model: VarModel) -> tuple[bool, ...]:
    """Per model axis: True where the prior or solver pads periodically (the axis cannot be tiled)."""
    cfg = model.config
    nd = len(model.axes)
    out = [False] * nd
    for part in (cfg.get("prior", {}), cfg.get("solver", {})):
        per = part.get("periodic", False)
        per = [per] * nd if isinstance(per, bool) else list(per)
        if len(per) == nd:
            out = [a or bool(b) for a, b in zip(out, per)]
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
