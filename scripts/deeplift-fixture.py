#!/usr/bin/python3
"""DeepLIFT (rescale) references from Captum with its two MaxPool faults fixed, in float64, for test/relevance.test.ts.

usage: PYTHONPATH=CAPTUM /usr/bin/python3 scripts/deeplift-fixture.py [--shared ../shared] [--out test/fixtures]
       [--check]

Peer: pytorch/captum faac08773131888714b15709b28494ebeea7f6eb, PyTorch 1.13 (Debian). Model: torchvision SqueezeNet
1.1 with shared/models/squeezenet1_1.pth, .eval(), ReLUs not in place, converted to float64. Call, per image i:
DeepLift(model).attribute(x[i:i+1], baselines=black, target=labels[i]) (rescale rule, multiply_by_inputs), with
black = (0 - mean)/std as in ../shared/reference/peers/README.md, and two changes to Captum's MaxPool handling:
  1. its unpooling scatter-adds (F.max_unpool2d assigns, dropping what overlapping windows send to one input): the
     fix ../shared/reference/peers/captum_deeplift_black_accumulate.npy has too;
  2. each MaxPool reads a copy of its input (x * 1). Captum registers a DeepLIFT hook on a module's input tensor and
     captures a module's output gradient with another hook on its output tensor; where a ReLU's output is a MaxPool's
     input (features.1 -> features.2), both hooks sit on one tensor and the ReLU's capture runs first, so the ReLU's
     multiplier is applied to the MaxPool's plain gradient instead of its DeepLIFT multiplier. The summation to
     delta hides this for a black reference (features.1's output is constant per channel there), not for others:
     with image i+1 as the reference of image i (i = 0, 1, 2), Captum's convergence delta is -3.4, -4.8, -3.0 on
     f(x) - f(b) = 12.7, 21.1, 19.5 without the copy, 0 (to 1e-14) with it; `--check` prints these.
The same Captum fault is in captum_deeplift_black_accumulate.npy: this script without change 2 reproduces that file
to 2e-6 (relative L2), with it the maps differ from it by 0.18-0.33.
Writes deeplift_black_f64.npy: 2x3x224x224 float32, the first two shared inputs (labels 36, 76).
"""
import argparse, json, os
import numpy as np, torch, torchvision, torch.nn.functional as F
import captum.attr._core.deep_lift as deep_lift
from captum.attr import DeepLift

ap = argparse.ArgumentParser()
ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "test", "fixtures"))
ap.add_argument("--check", action="store_true")
args = ap.parse_args()
torch.set_num_threads(2)


class Copy(torch.nn.Module):
    def forward(self, x):
        return x * 1


def accumulating_unpool(x, indices, kernel_size, stride, padding, output_size):
    n, c = x.shape[:2]
    out = torch.zeros(n, c, output_size[2] * output_size[3], dtype=x.dtype)
    out.scatter_add_(2, indices.flatten(2), x.flatten(2))
    return out.reshape(output_size)


def maxpool2d(module, inputs, outputs, grad_input, grad_output, eps=1e-10):
    return deep_lift.maxpool(
        module, F.max_pool2d, accumulating_unpool, inputs, outputs, grad_input, grad_output, eps=eps
    )


deep_lift.SUPPORTED_NON_LINEAR[torch.nn.MaxPool2d] = maxpool2d


def squeezenet(copies):
    model = torchvision.models.squeezenet1_1()
    model.load_state_dict(torch.load(os.path.join(args.shared, "models", "squeezenet1_1.pth")))
    model.eval()
    for m in model.modules():
        if isinstance(m, torch.nn.ReLU):
            m.inplace = False
    if copies:
        for i, m in enumerate(model.features):
            if isinstance(m, torch.nn.MaxPool2d):
                model.features[i] = torch.nn.Sequential(Copy(), m)
    return model.double()


x = torch.from_numpy(np.load(os.path.join(args.shared, "reference", "inputs.npy"))[:8]).double()
labels = json.load(open(os.path.join(args.shared, "reference", "peers", "info.json")))["labels"]
mean = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float64).view(1, 3, 1, 1)
std = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float64).view(1, 3, 1, 1)
black = ((0 - mean) / std).expand(1, 3, 224, 224).contiguous()

if args.check:
    for copies in (False, True):
        model = squeezenet(copies)
        for i in range(3):
            b = x[i + 1 : i + 2]
            _, delta = DeepLift(model).attribute(x[i : i + 1], b, target=labels[i], return_convergence_delta=True)
            with torch.no_grad():
                fd = float(model(x[i : i + 1])[0, labels[i]] - model(b)[0, labels[i]])
            print(f"copies={copies} image {i}: delta {float(delta):.3g}, f(x) - f(b) {fd:.3g}")

model = squeezenet(True)
maps = [
    DeepLift(model).attribute(x[i : i + 1], baselines=black, target=labels[i]).detach().numpy() for i in range(2)
]
np.save(os.path.join(args.out, "deeplift_black_f64.npy"), np.concatenate(maps).astype(np.float32))
