#!/usr/bin/python3
"""PyTorch CPU baseline for netvis's transformer benchmark: logits + input gradient of the architectures of
../shared/fixtures/modern (vit_small_patch16, convnext_mini), built with torchvision 0.14's own classes as that
README says, random weights (seed 0): d Σᵢ logits[i, tᵢ] / d input for a batch of --batch random images.
usage: /usr/bin/python3 bench/torch_transformers.py --model vit_small_patch16 [--batch 8] [--repeat 7] [--threads N]
Prints one JSON object: median and minimum milliseconds of one logits + input-gradient call."""
import argparse, json, os, statistics, time
import torch
from torchvision.models.convnext import CNBlockConfig, ConvNeXt
from torchvision.models.vision_transformer import VisionTransformer

BUILD = {
    "vit_small_patch16": lambda: VisionTransformer(
        image_size=224, patch_size=16, num_layers=3, num_heads=4, hidden_dim=128, mlp_dim=256),
    "convnext_mini": lambda: ConvNeXt([
        CNBlockConfig(32, 64, 1), CNBlockConfig(64, 128, 1), CNBlockConfig(128, 256, 2), CNBlockConfig(256, None, 1)]),
}

ap = argparse.ArgumentParser()
ap.add_argument("--model", choices=sorted(BUILD), required=True)
ap.add_argument("--batch", type=int, default=8)
ap.add_argument("--repeat", type=int, default=7)
ap.add_argument("--threads", type=int, default=os.cpu_count())
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)
model = BUILD[args.model]().eval()
for p in model.parameters():
    p.requires_grad_(False)
x = torch.randn(args.batch, 3, 224, 224)
targets = torch.arange(args.batch) * 7


def logits_and_input_gradient():
    xx = x.clone().requires_grad_(True)
    logits = model(xx)
    logits.gather(1, targets.view(-1, 1)).sum().backward()
    return logits.detach(), xx.grad


logits_and_input_gradient()
times = []
for _ in range(args.repeat):
    t0 = time.perf_counter()
    logits_and_input_gradient()
    times.append((time.perf_counter() - t0) * 1000)
print(json.dumps({
    "engine": f"torch {torch.__version__} cpu",
    "threads": torch.get_num_threads(),
    "median_ms": round(statistics.median(times), 2),
    "min_ms": round(min(times), 2),
}))
