import torch, time, numpy as np
torch.set_num_threads(1)
from varda.benchmarks import l96
b = l96.load_benchmark("full")
t=time.perf_counter()
val = b.val.subset(slice(0,16))
for lam in [1.0, 10.0, 100.0]:
    for frac in [0.9]:
        step = frac/(16+8*lam)
        m = l96.rk4_model("fsgd", lam=lam, step=step)
        e = l96._fsgd_errors(m, val, 2000)
        e = np.array(e)/b.scale
        print(lam, frac, "k*", e.argmin(), e.min(), [round(float(e[k]),4) for k in (10,50,100,200,500,1000,2000)], time.perf_counter()-t, flush=True)
