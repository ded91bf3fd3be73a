#!/usr/bin/python3
"""Makes test/fixtures/fooling64.json: the CS231n fooling run of ../shared/reference/meta.json (target 6 "stingray",
learning rate 1, at most 100 steps, X += lr * g / ||g||) on the 25 reference inputs, in float32 and in float64
(model and image in double), with PyTorch 1.13. The float64 run is the truth the fooling test measures against;
the float32 run shows how far float32 itself strays from it.
usage: OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 scripts/fooling-float64.py > test/fixtures/fooling64.json
(float32 differs from meta.json on 7 images here, e.g. 45 steps for the hatchet where meta.json has 37: float32
rounding, thread count and oneDNN's kernels decide those races)."""
import json, os
import numpy as np, torch, torchvision

shared = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared")
torch.set_num_threads(os.cpu_count())
base = torchvision.models.squeezenet1_1()
base.load_state_dict(torch.load(os.path.join(shared, "models", "squeezenet1_1.pth")))
base.eval()
inputs = torch.from_numpy(np.load(os.path.join(shared, "reference", "inputs.npy")))


def fooling(model, x, target=6, lr=1.0, max_steps=100):
    X = x.clone().requires_grad_(True)
    steps = 0
    while True:
        scores = model(X)
        if int(scores.argmax(1)) == target or steps == max_steps:
            break
        scores[0, target].backward()
        with torch.no_grad():
            X += lr * X.grad / X.grad.norm()
        X.grad.zero_()
        steps += 1
    delta = (X.detach() - x).double()
    return {"steps": steps, "fooled": int(scores.argmax(1)) == target,
            "linf": float(delta.abs().max()), "l2": float(delta.norm())}


out = {}
for name, dtype in (("float32", torch.float32), ("float64", torch.float64)):
    model = torchvision.models.squeezenet1_1()
    model.load_state_dict(base.state_dict())
    model = model.to(dtype).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    out[name] = [fooling(model, inputs[i:i + 1].to(dtype)) for i in range(len(inputs))]
print(json.dumps(out))
