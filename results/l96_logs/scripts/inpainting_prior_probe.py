import sys, time, torch, numpy as np
torch.set_num_threads(1)
from varda.benchmarks import l96
from varda.core.model import build_model
from varda.datasets.lorenz96 import l96_masks
b = l96.load_benchmark("full")
mean, std = float(b.train.x.mean()), float(b.train.x.std())
torch.manual_seed(0)
m = l96.unet_model(hidden_prior=int(sys.argv[2]), hidden_solver=32, n_iter=4, mean=mean, std=std)
x = l96.time_crops(m.normalize(l96.tensors(b.train)[0]), 40)
gen = torch.Generator().manual_seed(0)
rng = np.random.default_rng(0)
opt = torch.optim.Adam(m.prior.parameters(), lr=3e-3)
t0=time.perf_counter(); steps=0; B=32
sn = np.sqrt(2.0)/std
while time.perf_counter()-t0 < float(sys.argv[1]):
    idx = torch.randint(0, len(x), (B,), generator=gen); xb = x[idx]
    mk = torch.from_numpy(l96_masks(B, window=40, rng=rng)).float()[:,None]
    half = B//2
    inp = xb.clone()
    inp[:half] = mk[:half]*(xb[:half] + sn*torch.randn(xb[:half].shape, generator=gen))
    sig = torch.rand(B-half,1,1,1, generator=gen)
    inp[half:] = xb[half:] + sig*torch.randn(xb[half:].shape, generator=gen)
    loss = ((m.prior(inp)-xb)**2).mean()
    opt.zero_grad(); loss.backward(); opt.step(); steps+=1
    if steps%500==0: print(steps, loss.item(), flush=True)
val = b.val.subset(slice(0,16)); xt, y, msk = l96.tensors(val)
yz = m.normalize(y)*msk; xz = m.normalize(xt)
with torch.no_grad():
    print("one-shot Phi(y0) R:", float(((m.prior(yz)-xz)**2).mean())*std**2/b.scale)
    # plug and play: x <- Phi(x); x[obs] <- (x + w y)/(1+w)
    z = yz.clone()
    for k in range(20):
        z = m.prior(z); 
        if k in (0,1,3,9,19): print("pnp", k+1, float(((z-xz)**2).mean())*std**2/b.scale)
for lam in [1.0, 10.0, 100.0]:
    cfg = m.config; cfg["solver"] = {"type":"fsgd","step": 0.9/(16+8*lam)}; cfg["cost"]={"lambda_init":lam,"learn_lambda":False}
    f = build_model(cfg); f.prior.load_state_dict(m.prior.state_dict()); f.eval()
    with torch.no_grad():
        _, tr = f(yz, msk, n_iter=200, truth=xz, return_trajectory=True)
    e = np.array(tr["error"])*std**2/b.scale
    print("fsgd", lam, "best k", e.argmin(), e.min(), [round(float(e[k]),4) for k in (0,10,30,100,200)], flush=True)
