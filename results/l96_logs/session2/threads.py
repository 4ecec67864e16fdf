import sys, time, torch
from varda.benchmarks import l96
torch.set_num_threads(int(sys.argv[1]))
m = l96.unet_model(layout="2d", hidden_prior=16, hidden_solver=8, depth=0, kernel=(3, 5), blind=True, n_iter=8)
m.train()
B, T, K = 32, 40, 8
y = torch.randn(B,1,T,40); mk = (torch.rand(B,1,T,40)<0.125).float(); x = torch.randn(B,1,T,40)
opt = torch.optim.Adam(m.parameters())
ts = []
for i in range(6):
    t0 = time.perf_counter()
    xh = m(y*mk, mk, n_iter=K); loss = ((xh-x)**2).mean() + 0.05*((x-m.prior(x))**2).mean()
    opt.zero_grad(); loss.backward(); opt.step()
    ts.append(time.perf_counter()-t0)
print(sys.argv[1], "threads: s per batch of 32 crops at K=8:", round(min(ts[2:]), 3), round(sum(ts[2:])/4, 3))
