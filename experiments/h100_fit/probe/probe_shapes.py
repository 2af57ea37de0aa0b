# Per-op CUDA-graph times (the h100_ops.json method) of the shapes the whole models run but the per-op file lacks:
# batch norm at resnet18 / mobilenet_v2 shapes, the ViT-B/16 linears at 197 rows, fp32 and fp16 SDPA at ViT shape.
# Usage (on the GPU machine): python3 probe_shapes.py
import json,statistics as S,torch,torch.nn.functional as F
d=torch.device("cuda");torch.backends.cudnn.benchmark=True
def T(f,n,w=3):
 for _ in range(w):f()
 torch.cuda.synchronize();r=[]
 for _ in range(5):
  a,b=torch.cuda.Event(enable_timing=True),torch.cuda.Event(enable_timing=True);a.record()
  for _ in range(n):f()
  b.record();b.synchronize();r.append(a.elapsed_time(b)*1e3/n)
 return S.median(r)
def G(f,k=20):
 s=torch.cuda.Stream();s.wait_stream(torch.cuda.current_stream())
 with torch.cuda.stream(s):
  for _ in range(3):f()
 torch.cuda.current_stream().wait_stream(s);g=torch.cuda.CUDAGraph()
 with torch.cuda.graph(g):
  for _ in range(k):f()
 return T(g.replay,10)/k
o={}
with torch.inference_mode():
 for dn,t in(("fp32",torch.float32),("fp16",torch.float16)):
  for c,h in((64,56),(32,112),(64,112),(128,28),(256,14),(512,7),(96,112),(144,56),(192,28),(384,14),(576,14),(960,7),(1280,7)):
   bn=torch.nn.BatchNorm2d(c).to(d,t).eval();x=torch.randn(1,c,h,h,device=d,dtype=t).to(memory_format=torch.channels_last)
   o[f"bn_{dn}_1x{c}x{h}x{h}"]=G(lambda:bn(x))
  for m,k,n in((197,3072,768),(197,768,3072),(197,768,2304),(197,768,768),(196,768,768)):
   l=torch.nn.Linear(k,n).to(d,t);x=torch.randn(1,m,k,device=d,dtype=t)
   o[f"linear_{dn}_{m}x{k}->{n}"]=G(lambda:l(x))
  q,kk,v=(torch.randn(1,12,197,64,device=d,dtype=t) for _ in range(3))
  o[f"sdpa_{dn}_b1_h12_s197_d64"]=G(lambda:F.scaled_dot_product_attention(q,kk,v))
print(json.dumps({a:round(b,2) for a,b in o.items()}))
