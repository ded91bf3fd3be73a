#!/usr/bin/python3
"""Quantus + PyTorch doing the work of netvis's `benchmark` bench suite, for its throughput comparison.

usage: PYTHONPATH=QUANTUS:CAPTUM /usr/bin/python3 bench/quantus_benchmark.py --images DIR [--threads 2]
       [--pf-step 1024] [--fc-runs 20] [--ms-samples 5] [--ig-steps 32]
Peers as ../shared/peers/README.md lays them out (Quantus 85bc29d137d8f42835dd392f5cc441ad61d6d1f1, Captum
faac08773131888714b15709b28494ebeea7f6eb). Every JPEG in DIR, preprocessed as torchvision's ImageNet models expect,
each explaining its predicted class with Saliency, Grad-CAM (features.12) and Integrated Gradients (black baseline,
--ig-steps points), each map scored by Pixel-Flipping (--pf-step pixels per step, AUC), Faithfulness Correlation
(--fc-runs subsets of 224 pixels), Max-Sensitivity (--ms-samples noisy copies, each explained again) and Sparseness,
Quantus's batch calls (batch_size 64). Prints one JSON object: seconds in all and per metric, images per second.
"""
import argparse
import glob
import json
import os
import time

import numpy as np
import scipy.stats
import torch
import torchvision
from PIL import Image

import quantus
from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam, Saliency

ap = argparse.ArgumentParser()
ap.add_argument('--images', required=True)
ap.add_argument('--threads', type=int, default=os.cpu_count())
ap.add_argument('--pf-step', type=int, default=1024)
ap.add_argument('--fc-runs', type=int, default=20)
ap.add_argument('--ms-samples', type=int, default=5)
ap.add_argument('--ig-steps', type=int, default=32)
ap.add_argument('--weights', default=os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'models', 'squeezenet1_1.pth'))
args = ap.parse_args()
torch.set_num_threads(args.threads)

model = torchvision.models.squeezenet1_1()
model.load_state_dict(torch.load(args.weights))
model.eval()
transform = torchvision.transforms.Compose([
    torchvision.transforms.Resize(256),
    torchvision.transforms.CenterCrop(224),
    torchvision.transforms.ToTensor(),
    torchvision.transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
])


def explain(model, inputs, targets, method, **_):
    """Quantus's explain_func contract: numpy in, numpy (N, 1, H, W) out, channels summed."""
    x = torch.as_tensor(np.asarray(inputs), dtype=torch.float32)
    y = torch.as_tensor(np.asarray(targets), dtype=torch.long)
    if method == 'saliency':
        a = Saliency(model).attribute(x, target=y, abs=True)
    elif method == 'gradcam':
        a = LayerGradCam(model, model.features[12]).attribute(x, target=y, relu_attributions=True)
        a = LayerAttribution.interpolate(a, (x.shape[2], x.shape[3]), 'bilinear')
    else:
        a = IntegratedGradients(model).attribute(x, target=y, baselines=torch.zeros_like(x), n_steps=args.ig_steps)
    return a.sum(dim=1, keepdim=True).detach().numpy()


def pearson_rows(a, b, batched=False, **_):
    """Pearson correlation per row: this Quantus calls pearsonr(axis=...), which Debian's scipy 1.10 lacks."""
    if batched:
        return np.array([scipy.stats.pearsonr(aa, bb)[0] for aa, bb in zip(a, b)])
    return scipy.stats.pearsonr(a, b)[0]


t0 = time.perf_counter()
paths = sorted(glob.glob(os.path.join(args.images, '*.jpg')))
x = torch.stack([transform(Image.open(p).convert('RGB')) for p in paths])
with torch.no_grad():
    y = model(x).argmax(1).numpy()
x = x.numpy()
metrics = {
    'pixel-flipping': quantus.PixelFlipping(features_in_step=args.pf_step, perturb_baseline='black',
                                            return_auc_per_sample=True, disable_warnings=True),
    'faithfulness-correlation': quantus.FaithfulnessCorrelation(nr_runs=args.fc_runs, subset_size=224,
                                                                perturb_baseline='black', similarity_func=pearson_rows, return_aggregate=False,
                                                                disable_warnings=True),
    'max-sensitivity': quantus.MaxSensitivity(nr_samples=args.ms_samples, lower_bound=0.2, disable_warnings=True),
    'sparseness': quantus.Sparseness(disable_warnings=True),
}
per_metric = {name: 0.0 for name in metrics}
explain_seconds = 0.0
for method in ['saliency', 'gradcam', 'ig']:
    t = time.perf_counter()
    a = np.concatenate([explain(model, x[i:i + 64], y[i:i + 64], method) for i in range(0, len(x), 64)])
    explain_seconds += time.perf_counter() - t
    for name, metric in metrics.items():
        t = time.perf_counter()
        scores = metric(model=model, x_batch=x, y_batch=y, a_batch=a, explain_func=explain,
                        explain_func_kwargs={'method': method}, device='cpu', batch_size=64)
        per_metric[name] += time.perf_counter() - t
        assert len(scores) == len(x), (name, method, type(scores), len(scores))
seconds = time.perf_counter() - t0
print(json.dumps({
    'engine': f'Quantus + PyTorch {torch.__version__}, {args.threads} threads',
    'images': len(x),
    'seconds': round(seconds, 2),
    'images_per_second': round(len(x) / seconds, 4),
    'explain_seconds': round(explain_seconds, 2),
    'metric_seconds': {k: round(v, 2) for k, v in per_metric.items()},
}))
