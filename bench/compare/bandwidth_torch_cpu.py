#!/usr/bin/python3
"""PyTorch's side of the CPU bandwidth tables (docs/perf/cpu-engine-*.md, cpu-transcendentals-*.md):
copy, add, sigmoid, gelu, exp, tanh, log (inputs in [1, 5]), softmax rows of 1024, sum over dim 0
and over the last dim, at 16K, 4M and 16M floats, best of 20 calls, GB/s = bytes read + written
per second. At 16K floats a call takes microseconds, so Python's per-call overhead (~1-3 us) is
part of PyTorch's figure there, as the dispatch and allocation are part of detforge's.
Run: /usr/bin/python3 bench/compare/bandwidth_torch_cpu.py
"""
import time, torch
torch.set_num_threads(2)
def t(f, reps=20):
    f(); best=1e9
    for _ in range(reps):
        t0=time.perf_counter(); f(); best=min(best, time.perf_counter()-t0)
    return best
for n in (1<<14, 1<<22, 1<<24):
    a=torch.randn(n); b=torch.randn(n); o=torch.empty(n); p=torch.rand(n)*4+1
    m=a.view(-1,1024)
    print(n, "copy %.1f GB/s" % (2*n*4/t(lambda: o.copy_(a))/1e9),
          "add %.1f" % (3*n*4/t(lambda: a+b)/1e9),
          "sigmoid %.1f" % (2*n*4/t(lambda: torch.sigmoid(a))/1e9),
          "gelu %.1f" % (2*n*4/t(lambda: torch.nn.functional.gelu(a))/1e9),
          "exp %.1f" % (2*n*4/t(lambda: torch.exp(a))/1e9),
          "tanh %.1f" % (2*n*4/t(lambda: torch.tanh(a))/1e9),
          "log %.1f" % (2*n*4/t(lambda: torch.log(p))/1e9),
          "softmax %.1f" % (2*n*4/t(lambda: torch.softmax(m,-1))/1e9),
          "sum0 %.1f" % (n*4/t(lambda: m.sum(0))/1e9),
          "sumlast %.1f" % (n*4/t(lambda: m.sum(-1))/1e9))
