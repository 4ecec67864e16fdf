"""A supervised ceiling for the SST OSSE: how far below the OI can a network trained on the
*truth* go? ``python -m experiments.sst.ceiling [--quick]``.

``varda.train`` learns from the cloudy observations alone. This experiment removes that
handicap to bound what a learned correction can add on this OSSE: a U-Net is trained with the
truth of other OSSE years to predict ``truth − OI`` under the clouds, from

* the OI fill of :func:`varda.baselines.optimal_interpolation` (the best baseline of the
  benchmark) on the day to fill, as an anomaly from its daily spatial mean (the fronts);
* the observed departures from the OI (``obs − OI``, 0 under clouds) and the cloud masks of a
  window of ±``WINDOW`` days (what moved, where);

so it gets the background as an input, a large convolutional network (≈ 0.5 M parameters,
32 to 128 channels over three scales), the truth, and several years of training data: the three routes that the
benchmark page lists as left to try.

Protocol: training truths are the OSSE seeds ``TRAIN_SEEDS`` (none of the benchmark's seeds);
the epoch is chosen on seed ``VAL_SEED``; the score is the RMSE on every cloudy ocean point of
the benchmark's seeds (:data:`settings.SEEDS`), the same points as in ``run.py``. Networks of
``NET_SEEDS`` are trained for a fixed number of epochs (not a wall-time cap), so the result
does not depend on the machine's load. Writes ``results/ceiling.json`` and ``ceiling.md``.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from typing import TYPE_CHECKING, Callable

import numpy as np

from experiments.sst import settings as S

if TYPE_CHECKING:
    import torch

TRAIN_SEEDS = (101, 102, 103)
VAL_SEED = 104
NET_SEEDS = (0, 1)
WINDOW = 2                 # days either side of the day to fill
WIDTH = 32                 # channels at full resolution (×2, ×4 at the coarser levels)
EPOCHS = 16
BATCH = 16
CROP = 48                  # random training crops (the full field is scored)
LR = 2e-3
#: bands of distance (pixels) to the nearest clear pixel of the same day
DISTANCE_BANDS = ((0, 2), (2, 4), (4, 8), (8, 10_000))
#: the anomaly of the OI is divided by this (°C) so that the network sees values of order 1
OI_SCALE = 3.0

QUICK = {"train_seeds": (101,), "val_seed": 104, "test_seeds": (0,), "net_seeds": (0,),
         "size": "tiny", "epochs": 2, "width": 8, "crop": 16}


class Case:
    """One OSSE year prepared for the network: inputs per day, target and scored points."""

    def __init__(self, size: str, seed: int):
        from varda.baselines import optimal_interpolation
        from varda.datasets.osse import make_sst_osse

        o = make_sst_osse(size, seed=seed, cloud_fraction=S.OSSE_CLOUDS)
        self.truth = o.truth.values.astype(np.float32)
        mask = o.mask.values
        land = o.land.values
        self.oi = optimal_interpolation(o.obs).values.astype(np.float32)
        obs = np.nan_to_num(o.obs.values)
        self.departure = np.where(mask, obs - np.nan_to_num(self.oi), 0.0).astype(np.float32)
        self.mask = mask.astype(np.float32)
        oi_anom = self.oi - np.nanmean(self.oi, axis=(1, 2), keepdims=True)
        self.oi_anom = np.nan_to_num(oi_anom / OI_SCALE).astype(np.float32)
        # the benchmark's scored points: cloudy ocean points of pixels observed at least once
        self.scored = (~mask) & (~land)[None] & mask.any(0)[None]
        self.target = np.where(self.scored, np.nan_to_num(self.truth - self.oi), 0.0)

    def __len__(self) -> int:
        return len(self.truth)

    def inputs(self) -> np.ndarray:
        """(time, channels, lat, lon): departures and masks of days t − W … t + W (clamped at
        the ends of the record), and the OI anomaly of day t."""
        n = len(self)
        days = np.arange(n)[:, None] + np.arange(-WINDOW, WINDOW + 1)[None, :]
        days = np.clip(days, 0, n - 1)
        return np.concatenate([self.departure[days], self.mask[days],
                               self.oi_anom[:, None]], axis=1)

    def predictability(self) -> dict:
        """How much of the truth under the clouds the observations can tell: the day-to-day
        change of the truth at the scored points (persistence error at lags of 1 and 2 days),
        and the OI's error by distance to the nearest clear pixel of the same day."""
        from scipy import ndimage

        out = {}
        for lag in (1, 2):
            change = (self.truth[lag:] - self.truth[:-lag])[self.scored[lag:]]
            out[f"truth_change_rmse_lag{lag}"] = float(np.sqrt(np.mean(change.astype(np.float64) ** 2)))
        dist = np.stack([ndimage.distance_transform_edt(day == 0) for day in self.mask])
        err = (self.oi - self.truth).astype(np.float64)
        bands = {}
        for lo, hi in DISTANCE_BANDS:
            sel = self.scored & (dist >= lo) & (dist < hi)
            bands[f"{lo}-{hi}"] = {"fraction": float(sel.sum() / self.scored.sum()),
                                   "oi_rmse": float(np.sqrt(np.mean(err[sel] ** 2)))
                                   if sel.any() else None}
        out["oi_by_distance"] = bands
        return out

    def rmse(self, correction: "np.ndarray | None") -> float:
        """RMSE (°C) on the scored points of the OI plus ``correction`` (None: the OI alone)."""
        est = self.oi if correction is None else self.oi + correction
        err = (est - self.truth)[self.scored]
        return float(np.sqrt(np.mean(err.astype(np.float64) ** 2)))


def unet(c_in: int, width: int) -> "torch.nn.Module":
    """A three-level U-Net (two 3 × 3 convolutions per level, average pooling, nearest
    up-sampling, skip connections): the usual image-to-image network.

    Not varda's U-Net prior (:mod:`varda.core.priors`): a prior maps a field to a field of the
    same channels, while this network maps ``c_in`` input channels to one correction."""
    import torch
    from torch import nn

    def block(i: int, o: int) -> nn.Module:
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.GELU(),
                             nn.Conv2d(o, o, 3, padding=1), nn.GELU())

    class UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            w = width
            self.e1, self.e2, self.e3 = block(c_in, w), block(w, 2 * w), block(2 * w, 4 * w)
            self.d2, self.d1 = block(6 * w, 2 * w), block(3 * w, w)
            self.out = nn.Conv2d(w, 1, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            pool, up = nn.functional.avg_pool2d, nn.functional.interpolate
            a = self.e1(x)
            b = self.e2(pool(a, 2))
            c = self.e3(pool(b, 2))
            b = self.d2(torch.cat([b, up(c, size=b.shape[-2:])], 1))
            a = self.d1(torch.cat([a, up(b, size=a.shape[-2:])], 1))
            return self.out(a)

    return UNet()


def predict(net: "torch.nn.Module", x: np.ndarray, batch: int = 32) -> np.ndarray:
    """The network's correction ``(time, lat, lon)`` for the inputs ``x`` of :meth:`Case.inputs`
    (evaluation mode, no graph; the network is left in training mode)."""
    import torch
    net.eval()
    with torch.no_grad():
        out = [net(torch.from_numpy(x[s:s + batch]))[:, 0].numpy()
               for s in range(0, len(x), batch)]
    net.train()
    return np.concatenate(out)


def train(cases: "list[Case]", val: Case, *, seed: int, epochs: int, width: int, crop: int,
          log: "Callable[[str], None]") -> tuple:
    """Train one network; returns it (at its best validation epoch) and the history."""
    import copy

    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(np.concatenate([c.inputs() for c in cases]))
    y = torch.from_numpy(np.concatenate([c.target for c in cases])[:, None].astype(np.float32))
    w = torch.from_numpy(np.concatenate([c.scored for c in cases])[:, None].astype(np.float32))
    x_val = val.inputs()
    net = unet(x.shape[1], width)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    ny, nx = x.shape[-2:]
    best, best_state, hist = np.inf, None, []
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        for b in torch.from_numpy(rng.permutation(len(x))).split(BATCH):
            i, j = rng.integers(0, ny - crop + 1), rng.integers(0, nx - crop + 1)
            sl = (b, slice(None), slice(i, i + crop), slice(j, j + crop))
            xb, yb, wb = x[sl], y[sl], w[sl]
            if rng.random() < 0.5:              # the OSSE is statistically symmetric in x
                xb, yb, wb = xb.flip(-1), yb.flip(-1), wb.flip(-1)
            loss = ((net(xb) - yb) ** 2 * wb).sum() / wb.sum().clamp(min=1.0)
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        val_rmse = val.rmse(predict(net, x_val))
        hist.append({"epoch": epoch, "val_rmse": val_rmse,
                     "time_s": round(time.perf_counter() - t0, 1)})
        log(f"net seed {seed} epoch {epoch}: validation RMSE {val_rmse:.4f}")
        if val_rmse < best:
            best, best_state = val_rmse, copy.deepcopy(net.state_dict())
    net.load_state_dict(best_state)
    return net, hist


def _mean_present(values: list) -> "float | None":
    """Mean of the values that are not None (a distance band may be empty on a small field)."""
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def markdown(res: dict) -> str:
    """The result table, the predictability table and the protocol line, as Markdown."""
    rows = res["summary"]
    lines = [f"Command: `{res['command']}`; {res['hardware']}.", "",
             "| method | RMSE mean (°C) | [min, max] over test seeds × nets | ratio to OI |",
             "|---|---|---|---|"]
    for name, title in (("supervised", "U-Net trained on the truth, OI + correction"),
                        ("oi", "optimal interpolation (its input)")):
        r = rows[name]
        lines.append(f"| {title} | {r['mean']:.3f} | [{r['min']:.3f}, {r['max']:.3f}] | "
                     f"{r['mean'] / rows['oi']['mean']:.2f} |")
    lines += ["", "Predictability of the scored points (mean over test seeds): the truth changes by "
              f"{res['predictability']['truth_change_rmse_lag1']:.2f} °C RMS in one day and "
              f"{res['predictability']['truth_change_rmse_lag2']:.2f} °C in two.", "",
              "| distance to the nearest clear pixel of the day (px) | share of scored points "
              "| OI RMSE (°C) |", "|---|---|---|"]
    for band, v in res["predictability"]["oi_by_distance"].items():
        oi = "–" if v["oi_rmse"] is None else f"{v['oi_rmse']:.3f}"
        lines.append(f"| {band.replace('-10000', ' or more')} | {v['fraction']:.2f} | {oi} |")
    lines += ["", f"Network: {res['n_params']} parameters; trained on OSSE seeds "
              f"{res['train_seeds']} ({res['train_days']} days), epoch chosen on seed "
              f"{res['val_seed']}; test seeds {res['test_seeds']}; network seeds "
              f"{res['net_seeds']}; {res['epochs']} epochs, {res['train_time_s_mean']:.0f} s "
              "per network."]
    return "\n".join(lines) + "\n"


def main(argv: "list[str] | None" = None) -> int:
    """Prepare the OSSE years, train the networks, score them and write the results."""
    import torch

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    args = p.parse_args(argv)
    torch.set_num_threads(S.THREADS)
    q = args.quick
    size = QUICK["size"] if q else S.OSSE_SIZE
    train_seeds = QUICK["train_seeds"] if q else TRAIN_SEEDS
    val_seed = QUICK["val_seed"] if q else VAL_SEED
    test_seeds = QUICK["test_seeds"] if q else S.SEEDS
    net_seeds = QUICK["net_seeds"] if q else NET_SEEDS
    epochs = QUICK["epochs"] if q else EPOCHS
    width = QUICK["width"] if q else WIDTH
    crop = QUICK["crop"] if q else CROP
    t0 = time.perf_counter()
    cases = [Case(size, s) for s in train_seeds]
    val = Case(size, val_seed)
    tests = {s: Case(size, s) for s in test_seeds}
    print(f"data ready in {time.perf_counter() - t0:.0f} s", flush=True)
    per_seed = [c.predictability() for c in tests.values()]
    predictability = {k: float(np.mean([p[k] for p in per_seed]))
                      for k in per_seed[0] if k.startswith("truth_change")}
    predictability["oi_by_distance"] = {
        band: {k: _mean_present([p["oi_by_distance"][band][k] for p in per_seed])
               for k in ("fraction", "oi_rmse")}
        for band in per_seed[0]["oi_by_distance"]}
    scores: dict = {"oi": {str(s): c.rmse(None) for s, c in tests.items()}, "supervised": {}}
    times, hists, n_params = [], {}, 0
    for ns in net_seeds:
        t1 = time.perf_counter()
        net, hist = train(cases, val, seed=ns, epochs=epochs, width=width, crop=crop,
                          log=lambda m: print(m, flush=True))
        times.append(time.perf_counter() - t1)
        hists[str(ns)] = hist
        n_params = int(sum(p.numel() for p in net.parameters()))
        for s, c in tests.items():
            scores["supervised"][f"{s}/{ns}"] = c.rmse(predict(net, c.inputs()))
    summary = {k: {"mean": float(np.mean(list(v.values()))), "min": float(min(v.values())),
                   "max": float(max(v.values()))} for k, v in scores.items()}
    argv_s = sys.argv[1:] if argv is None else argv
    res = {"command": " ".join(["python -m experiments.sst.ceiling", *argv_s]),
           "hardware": f"{platform.processor() or platform.machine()}, {S.THREADS} torch threads",
           "osse_size": size, "train_seeds": list(train_seeds), "val_seed": val_seed,
           "test_seeds": list(test_seeds), "net_seeds": list(net_seeds), "epochs": epochs,
           "window_days": WINDOW, "width": width, "n_params": n_params,
           "train_days": int(sum(len(c) for c in cases)),
           "train_time_s_mean": float(np.mean(times)), "scores": scores,
           "predictability": predictability, "summary": summary,
           "history": hists}
    out = S.RESULTS_DIR / "quick" if q else S.RESULTS_DIR
    out.mkdir(parents=True, exist_ok=True)
    for name, text in (("ceiling.json", json.dumps(res, indent=1)), ("ceiling.md", markdown(res))):
        tmp = out / (name + ".tmp")
        tmp.write_text(text)
        tmp.replace(out / name)
    print(markdown(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
