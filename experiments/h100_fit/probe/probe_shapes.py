# Per-op CUDA-graph times (the h100_ops.json method: 20 calls in one graph, median of 5 loops of 10 replays) of
# shapes the whole models run but h100_ops.json lacks: batch norm at resnet18 / mobilenet_v2 shapes, the
# ViT-B/16 linears at 197 rows (without bias, as in h100_ops.json, and with bias, as in the model), SDPA at the
# ViT shape. Prints a per-op
# measurement file (hwnas calibrate format). Usage (on the GPU machine): python3 probe_shapes.py > out.json
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
o=[]
with torch.inference_mode():
 for dn,t in(("float32",torch.float32),("float16",torch.float16)):
  for c,h in((64,112),(64,56),(128,28),(256,14),(512,7),(32,112),(96,112),(144,56),(192,28),(384,14),(576,14),(960,7),(1280,7),
            (16,112),(96,56),(24,56),(144,28),(32,28),(192,14),(64,14),(96,14),(576,7),(160,7),(320,7)):
   bn=torch.nn.BatchNorm2d(c).to(d,t).eval();x=torch.randn(1,c,h,h,device=d,dtype=t).to(memory_format=torch.channels_last)
   o.append({"op":"batchnorm_eval","n":1,"c":c,"h":h,"dtype":dn,"us_graph":G(lambda:bn(x))})
  for m,k,n in((197,3072,768),(197,768,3072),(197,768,2304),(197,768,768)):
   for bias in(False,True):
    l=torch.nn.Linear(k,n,bias=bias).to(d,t);x=torch.randn(1,m,k,device=d,dtype=t)
    o.append({"op":"linear","m":m,"k":k,"n_out":n,"bias":bias,"dtype":dn,"us_graph":G(lambda:l(x))})
  q,kk,v=(torch.randn(1,12,197,64,device=d,dtype=t) for _ in range(3))
  o.append({"op":"sdpa","b":1,"heads":12,"seq":197,"d_head":64,"causal":False,"dtype":dn,"us_graph":G(lambda:F.scaled_dot_product_attention(q,kk,v))})
p=torch.cuda.get_device_properties(0)
print(json.dumps({"source":f"PyTorch {torch.__version__} on {p.name} ({p.multi_processor_count} SMs), experiments/h100_fit/probe/probe_shapes.py","ops":o},indent=0))
