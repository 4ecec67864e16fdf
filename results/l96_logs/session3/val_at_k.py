import torch, sys
torch.set_num_threads(1)
from varda.core.checkpoint import load
from varda.benchmarks.l96 import load_benchmark, evaluate
b = load_benchmark("full")
m = load(sys.argv[1])
for k in [int(a) for a in sys.argv[2:]]:
    print(k, evaluate(m, b.val.subset(slice(0, 64)), b.scale, n_iter=k)["r_score"], flush=True)
