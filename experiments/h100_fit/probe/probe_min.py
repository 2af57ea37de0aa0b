import json,statistics as S,torch,torchvision,collections as C
from torch.profiler import profile,ProfilerActivity as A
d=torch.device("cuda");torch.backends.cudnn.benchmark=True
def T(f,n,w=10):
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
 return T(g.replay,10,3)/k
o={}
for n in(65536,1048576):
 for t in(torch.float32,torch.float16):
  x=torch.randn(n,device=d,dtype=t);y=torch.randn(n,device=d,dtype=t);k=f"{str(t)[6:]}_{n}"
  o[k+"_same_relu"]=G(lambda:torch.relu(x));o[k+"_same_add"]=G(lambda:x+y);o[k+"_same_sigmoid"]=G(lambda:torch.sigmoid(x))
  def dep():
   z=x
   for i in range(20):z=torch.relu(z) if i%2==0 else z+y
  o[k+"_dep_relu_add"]=G(dep,1)/20
  fs=(torch.relu,lambda t:t+y,torch.sigmoid,lambda t:t*y,torch.tanh)
  def mix():
   z=x
   for i in range(20):z=fs[i%5](z)
  o[k+"_dep_5kinds"]=G(mix,1)/20
print(json.dumps({k:round(v,3) for k,v in o.items()}))
for nm in("resnet18","mobilenet_v2","vit_b_16"):
 for dn,t in(("fp32",torch.float32),("fp16",torch.float16)):
  m=getattr(torchvision.models,nm)(weights=None).to(d,t).eval().to(memory_format=torch.channels_last)
  x=torch.randn(1,3,224,224,device=d,dtype=t).to(memory_format=torch.channels_last)
  with torch.inference_mode():
   us=G(lambda:m(x),1)
   for _ in range(5):m(x)
   torch.cuda.synchronize()
   with profile(activities=[A.CUDA]) as p:
    for _ in range(5):m(x)
    torch.cuda.synchronize()
  K=[e for e in p.events() if e.device_type==torch.autograd.DeviceType.CUDA];busy=sum(e.device_time for e in K)/5;n=len(K)/5
  ag=C.defaultdict(lambda:[0,0.]);
  for e in K:ag[e.name[:70]][0]+=.2;ag[e.name[:70]][1]+=e.device_time/5
  top=sorted(ag.items(),key=lambda z:-z[1][1])[:8]
  print(json.dumps({"m":f"{nm}_{dn}_b1","graph_us":round(us,1),"kernel_sum_us":round(busy,1),"kernels":n,"top":[(a,round(b[0],1),round(b[1],1)) for a,b in top]}),flush=True)
