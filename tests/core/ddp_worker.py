"""A rank of the data-parallel training test (a module of its own, so that the processes
started by ``varda.core.distributed.spawn`` can import it)."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from varda.core.model import build_model
from varda.core.trainer import fit

CONFIG = {"prior": {"type": "unet", "ndim": 2, "hidden": 4, "pool": [2, 2],
                    "periodic": [False, True]},
          "solver": {"type": "lstm", "ndim": 2, "hidden": 4, "periodic": [False, True]},
          "cost": {"rho": "square", "lambda_init": 0.5},
          "axes": ["time", "site"], "patch_shape": [8, 8], "n_iter": 2}


def data(seed: int = 3) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(24, 1, 8, 8, generator=g).cumsum(2)
    mask = (torch.rand(x.shape, generator=g) < 0.5).float()
    return x, x + 0.1 * torch.randn(x.shape, generator=g), mask


def run_rank(rank: int, out_dir: str) -> None:
    torch.manual_seed(100 + rank)          # different inits: fit must broadcast rank 0's
    model = build_model(CONFIG)
    x, y, m = data()
    hist = fit(model, x[:16], y[:16], m[:16], val=(x[16:], y[16:], m[16:]), epochs=2,
               n_iter_schedule={0: 2},
               steps_per_epoch=3, batch_size=8, lr=1e-2, progress=False, seed=5,
               distributed=True)
    out = Path(out_dir)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(out / f"rank{rank}.safetensors"))
    (out / f"rank{rank}.json").write_text(json.dumps(hist))
