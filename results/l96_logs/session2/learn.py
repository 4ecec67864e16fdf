import sys, time, json, torch
sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from speed import cfgs
from varda.benchmarks import l96
from varda.core.training import fit
torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
name, budget = sys.argv[1], float(sys.argv[2])
bench = l96.load_benchmark("full")
mean, std = float(bench.train.x.mean()), float(bench.train.x.std())
m = cfgs[name](); m.set_normalization(mean, std)
x, y, mk = (l96.time_crops(t, 40) for t in l96.tensors(bench.train))
val = l96.tensors(bench.val.subset(slice(0, 64)))
levels = [2, 4, 6, 8]; ramp = [0.15, 0.4, 0.7]
sched = {0: 2}
def cb(e):
    f = e["time_s"] / budget
    lv = levels[sum(1 for r in ramp if f >= r)]
    if lv != sched[max(sched)]: sched[e["epoch"]] = lv
    print(f"{name} ep{e['epoch']} K={e['n_iter']} loss={e['train_loss']:.4f} valR={e['val_mse']*std**2/bench.scale:.4f} lam={e['lambda']:.3g} t={e['time_s']:.0f}", flush=True)
bs = int(sys.argv[4]) if len(sys.argv) > 4 else 32
# epochs over a fraction: shuffle subsets
fit(m, x, y, mk, val=val, epochs=1000, batch_size=bs, lr=float(sys.argv[5]) if len(sys.argv)>5 else 2e-3, mode="joint",
    n_iter_schedule=sched, seed=0, device="cpu", progress=False, max_time=budget, callback=cb)
