#!/usr/bin/python3
"""The peers' per-image times for netvis's methods benchmark (bench/methods.ts), one run per call so that the
benchmark can interleave them with netvis's own runs.

usage: PYTHONPATH=CAPTUM:GRADCAM:TTACH:ZENNIT /usr/bin/python3 bench/peer_methods.py
       --method scorecam|kernelshap|rise|lrp
       [--threads N] [--image 0]
Prints one JSON object: {"method", "ms"}: wall time of one explanation of one 224x224 shared input (its true label),
after a warm-up forward pass. The calls:
  scorecam   pytorch-grad-cam ScoreCAM(model, [model.features[12]]) (its default batch of 16 masked images)
  kernelshap Captum KernelShap(model).attribute(x, baselines=0.0, target, feature_mask=superpixels.npy[i],
             n_samples=500, perturbations_per_eval=50)
  lrp        Zennit 0.5.1: with Gradient(model, composite=EpsilonPlusFlat()) as attributor: attributor(x, one-hot of
             the target), timed on the second call (the hooks registered once, as for a run over many images)
  rise       a PyTorch loop after Petsiuk et al.'s reference code: 4000 masks (7x7 grid, p=0.5, bilinear upsampling,
             random shift), made before timing (as their generate_masks, once for all images); masked batches of 50,
             softmax, saliency = sum_i P_i M_i / (N p)
SqueezeNet 1.1 with shared/models/squeezenet1_1.pth, .eval(), ReLUs not in place, under torch.no_grad() where the
method needs no gradient."""
import argparse, json, os, time
import numpy as np, torch, torchvision
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--method", required=True, choices=["scorecam", "kernelshap", "rise", "lrp"])
ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--image", type=int, default=0)
here = os.path.dirname(os.path.abspath(__file__))
shared = os.path.join(here, "..", "..", "shared")
args = ap.parse_args()
torch.set_num_threads(args.threads)
model = torchvision.models.squeezenet1_1()
model.load_state_dict(torch.load(os.path.join(shared, "models", "squeezenet1_1.pth")))
model.eval()
for m in model.modules():
    if isinstance(m, torch.nn.ReLU):
        m.inplace = False
peers = os.path.join(shared, "reference", "peers")
labels = json.load(open(os.path.join(peers, "info.json")))["labels"]
i = args.image
x = torch.from_numpy(np.load(os.path.join(shared, "reference", "inputs.npy"), mmap_mode="r")[i : i + 1].copy())
target = labels[i]
with torch.no_grad():
    model(x)

if args.method == "scorecam":
    from pytorch_grad_cam import ScoreCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    cam = ScoreCAM(model=model, target_layers=[model.features[12]])
    run = lambda: cam(input_tensor=x, targets=[ClassifierOutputTarget(target)])
elif args.method == "kernelshap":
    from captum.attr import KernelShap

    mask = torch.from_numpy(np.load(os.path.join(peers, "superpixels.npy"))[i][None, None]).long()
    torch.manual_seed(0)
    run = lambda: KernelShap(model).attribute(
        x, baselines=0.0, target=target, feature_mask=mask, n_samples=500, perturbations_per_eval=50
    )
elif args.method == "lrp":
    from zennit.attribution import Gradient
    from zennit.composites import EpsilonPlusFlat

    attributor = Gradient(model=model, composite=EpsilonPlusFlat())
    attributor.__enter__()
    relevance_out = torch.eye(1000)[[target]]
    attributor(x, relevance_out)
    run = lambda: attributor(x, relevance_out)
else:
    N, s, p, batch = 4000, 7, 0.5, 50
    h, w = x.shape[-2:]
    cell = int(np.ceil(h / s))
    rng = np.random.default_rng(0)
    grid = torch.from_numpy((rng.random((N, 1, s, s)) < p).astype(np.float32))
    up = F.interpolate(grid, size=((s + 1) * cell, (s + 1) * cell), mode="bilinear", align_corners=False)
    shifts = rng.integers(0, cell, size=(N, 2))
    masks = torch.stack([up[k, :, dy : dy + h, dx : dx + w] for k, (dy, dx) in enumerate(shifts)])

    def run():
        with torch.no_grad():
            sal = torch.zeros(h, w, dtype=torch.float64)
            for start in range(0, N, batch):
                m = masks[start : start + batch]
                prob = F.softmax(model(x * m), dim=1)[:, target]
                sal += (prob.view(-1, 1, 1).double() * m[:, 0].double()).sum(0)
            return sal / (N * p)

t0 = time.perf_counter()
run()
print(json.dumps({"method": args.method, "ms": round((time.perf_counter() - t0) * 1000, 1)}))
