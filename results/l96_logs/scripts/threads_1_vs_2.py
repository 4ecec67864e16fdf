import time, torch, sys
torch.set_num_threads(int(sys.argv[1]))
from varda.benchmarks import l96
B=16; K=2
x = torch.randn(B,1,200,40); m=(torch.rand(B,1,200,40)<0.125).float(); y=x*m
mdl = l96.unet_model(hidden_prior=16,hidden_solver=16,second_order=True,pool=(4,1))
mdl.train(); opt = torch.optim.Adam(mdl.parameters(), 1e-3)
for r in range(4):
    t=time.perf_counter()
    xh = mdl(y,m,n_iter=K); loss=((xh-x)**2).mean()+0.05*((mdl.prior(xh)-xh)**2).mean()+0.05*((mdl.prior(x)-x)**2).mean()
    opt.zero_grad(); loss.backward(); opt.step()
    print(sys.argv[1], f"{(time.perf_counter()-t)/B/K*1000:.2f} ms/sample/iter", flush=True)
