import torch, torchvision
import chipmesh, chipmesh.torch

# A model and a mesh from the catalog in a line each.
model = chipmesh.import_hf_config("examples/models/gpt2.json", batch=8, seq_len=1024)
mesh = chipmesh.Mesh.cluster([("h100-sxm", 4), ("a100-sxm-80gb", 4)], network="infiniband-ndr")

plan = chipmesh.partition(model, mesh, batch=32)
print(plan.strategy, plan.schedule, "micro-batch", plan.micro_batch)
print("step %.1f ms, %.0f tokens/s" % (plan.step_time_s * 1e3, plan.tokens_per_s))
for d in plan.devices[:2]:
    print(d.name, d.kind, "stage", d.stage, "compute %.1f ms" % (d.compute_s * 1e3))
programs = chipmesh.materialize(plan)             # verified as well
print(len(programs.functions), "functions, e.g.", programs.functions[1:3])

# A PyTorch module: partitioned, mapped back, split into stages.
net = torchvision.models.resnet18().eval()
x = torch.randn(4, 3, 64, 64)
tp = chipmesh.torch.partition(net, (x,), chipmesh.Mesh.node("a100-sxm-80gb", 4),
                              strategy="dp=1,pp=4,tp=1")
print(tp, "layer3 on stages", tp.module_stage["layer3"], "fc on", tp.node_stage["fc"])
with torch.no_grad():
    print("same outputs:", torch.allclose(tp(x), net(x), atol=1e-5))

try:
    chipmesh.partition(model, mesh, objective="fastest")
except chipmesh.Error as e:
    print("chipmesh.Error:", e)
