#!/usr/bin/python3
"""References for ../shared/fixtures/modern/vit_small_patch16 with a random classifier head.

torchvision's VisionTransformer initialises its head to zeros, so the shared fixture's logits and input
gradients are all zero and prove nothing. This script rebuilds the same model (same architecture, seed 0,
checked against the shared ONNX file's weights), gives the head weights that TypeScript can rebuild exactly
(mulberry32 with seed 1, uniform in ±1/√128 like nn.Linear's default; bias stays zero), and writes
test/fixtures/vit-head/: logits.npy (2×1000), grad64.npy (d Σᵢ logits[i, tᵢ] / d input computed in float64,
stored as float32) and meta.json (targets, and the relative L2 error of PyTorch's float32 gradient against
grad64). The input is the shared vit_small_patch16.input.npy.
usage: /usr/bin/python3 scripts/vit-head-fixture.py   (PyTorch 1.13, torchvision 0.14, onnx)
"""
import json
import os

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torchvision.models.vision_transformer import VisionTransformer

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "fixtures", "modern")
OUT = os.path.join(HERE, "..", "test", "fixtures", "vit-head")
TARGETS = [3, 500]


def mulberry32(seed, n):
    """n uniform [0, 1) numbers, the same sequence as test/support/tiny-graph.ts's rng(seed)."""
    s = seed & 0xFFFFFFFF
    out = np.empty(n)
    for i in range(n):
        s = (s + 0x6D2B79F5) & 0xFFFFFFFF
        t = s
        t = ((t ^ (t >> 15)) * (t | 1)) & 0xFFFFFFFF
        t ^= (t + ((t ^ (t >> 7)) * (t | 61))) & 0xFFFFFFFF
        out[i] = ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296
    return out


def main():
    torch.manual_seed(0)
    model = VisionTransformer(image_size=224, patch_size=16, num_layers=3, num_heads=4, hidden_dim=128, mlp_dim=256)
    shared = onnx.load(os.path.join(SHARED, "vit_small_patch16.onnx"))
    inits = [numpy_helper.to_array(i) for i in shared.graph.initializer]
    for name, value in model.state_dict().items():
        v = value.numpy()
        if not any(w.shape == v.shape and np.array_equal(w, v) for w in inits + [w.T for w in inits if w.ndim == 2]):
            raise SystemExit(f"{name} differs from the shared ONNX file: not the same model")
    bound = 1 / np.sqrt(128)
    head = ((2 * mulberry32(1, 1000 * 128) - 1) * bound).astype(np.float32).reshape(1000, 128)
    with torch.no_grad():
        model.heads.head.weight.copy_(torch.from_numpy(head))
    model.eval()

    x = torch.from_numpy(np.load(os.path.join(SHARED, "vit_small_patch16.input.npy")))

    def gradient(m, inp):
        inp = inp.clone().requires_grad_(True)
        logits = m(inp)
        logits[torch.arange(len(TARGETS)), TARGETS].sum().backward()
        return logits.detach(), inp.grad

    logits, grad32 = gradient(model, x)
    _, grad64 = gradient(model.double(), x.double())
    err = float(torch.linalg.norm((grad32.double() - grad64).flatten()) / torch.linalg.norm(grad64.flatten()))
    os.makedirs(OUT, exist_ok=True)
    np.save(os.path.join(OUT, "logits.npy"), logits.numpy().astype(np.float32))
    np.save(os.path.join(OUT, "grad64.npy"), grad64.numpy().astype(np.float32))
    meta = {
        "targets": TARGETS,
        "head": {"seed": 1, "bound": "1/sqrt(128)"},
        "torch32_grad_rel_l2": err,
        "torch": torch.__version__,
    }
    with open(os.path.join(OUT, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
