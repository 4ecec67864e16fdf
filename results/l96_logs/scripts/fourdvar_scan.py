import torch, time, numpy as np
torch.set_num_threads(1)
from varda.benchmarks import l96
b = l96.load_benchmark("full")
val = b.val.subset(slice(0,16))
mean=float(b.train.x.mean())
for lam in [100.0, 1000.0, 10000.0]:
  for n in [300, 600]:
    t=time.perf_counter()
    xh = l96.run_fourdvar(val, lam=lam, n_iter=n, chunk=16, fill=mean)
    print(lam, n, l96.scores(xh, val, b.scale)["r_score"], time.perf_counter()-t, flush=True)
