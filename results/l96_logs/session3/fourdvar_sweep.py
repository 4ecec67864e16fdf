import sys, time, torch, numpy as np
torch.set_num_threads(1)
from varda.benchmarks.l96 import load_benchmark, tensors, fourdvar, scores
b = load_benchmark("full")
x, y, m = tensors(b.val)
n = 16
for lam, it, st in [(300, 3000, 3), (1000, 3000, 3), (2000, 3000, 3), (3000, 6000, 3), (1000, 6000, 4)]:
    t0 = time.time()
    xh = fourdvar(y[:n], m[:n], lam=lam, n_iter=it, stages=st)
    r = float(((xh - x[:n]) ** 2).mean()) / b.scale
    print(f"lam={lam:g} it={it} stages={st} R={r:.4g} t={time.time()-t0:.0f}s", flush=True)
