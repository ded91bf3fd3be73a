"""Records Quantus's scores on a small fixed case, for netvis's metric tests (test/metrics-quantus.test.ts).

Run from the repository root with the peers laid out as ../shared/peers/README.md says:
  PYTHONPATH=/work/peers/quantus /usr/bin/python3 scripts/quantus-reference.py
Quantus commit 85bc29d137d8f42835dd392f5cc441ad61d6d1f1 (PyTorch 1.13, numpy 1.24, scipy 1.10, scikit-image 0.19).

Writes test/fixtures/quantus/tiny.onnx (a 3-layer CNN, 10 classes, 3×48×48 inputs) and
test/fixtures/quantus/reference.json: the inputs (2 images from ../shared/images, resized to 48×48 and normalised),
labels, maps and masks, and per metric its settings and Quantus's per-image scores; for stochastic metrics the
scores under numpy seeds 0..9. Quantus runs one image per call: its default normalisation divides a whole batch by
the batch's largest value, netvis normalises each map, and the two agree on batches of one.
"""
import base64
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

import quantus

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'quantus')
IMAGES = os.path.join(ROOT, '..', 'shared', 'images')
NAMES = ['n01774750_tarantula.JPEG', 'n02643566_lionfish.JPEG']
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
SEEDS = range(10)


class Tiny(nn.Module):
    """Conv 3→8 (3×3, no padding: Input Invariance's bias shift is exact), ReLU, max-pool, conv 8→16, ReLU, mean, linear."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3)
        self.relu1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.pool(self.relu1(self.conv1(x)))
        x = self.relu2(self.conv2(x)).mean(dim=(2, 3))
        return self.fc(x)


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype='<f4').tobytes()).decode('ascii')


def make_model():
    torch.manual_seed(0)
    model = Tiny()
    with torch.no_grad():
        model.fc.weight.mul_(8)  # logits that differ enough for the softmax to be far from uniform
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 3, 48, 48), os.path.join(OUT, 'tiny.onnx'), opset_version=13,
                      input_names=['input'], output_names=['logits'], dynamic_axes={'input': {0: 'n'}, 'logits': {0: 'n'}})
    return model


def load_images():
    xs = []
    for name in NAMES:
        img = Image.open(os.path.join(IMAGES, name)).convert('RGB').resize((48, 48), Image.BILINEAR)
        x = (np.asarray(img, dtype=np.float32) / 255 - MEAN) / STD
        xs.append(x.transpose(2, 0, 1))
    return np.stack(xs).astype(np.float32)


def gradient(model, x, y):
    x = torch.tensor(x, requires_grad=True)
    logits = model(x)
    logits[torch.arange(len(y)), torch.tensor(y)].sum().backward()
    return x.grad.numpy()


def saliency(model, inputs, targets, **_):
    """netvis's saliency: |d logit / d x|, max over channels (N×H×W)."""
    return np.abs(gradient(model, np.asarray(inputs, dtype=np.float32), np.asarray(targets))).max(axis=1)


def input_x_gradient(model, inputs, targets, **_):
    """Input × gradient summed over channels (N×H×W)."""
    x = np.asarray(inputs, dtype=np.float32)
    return (x * gradient(model, x, np.asarray(targets))).sum(axis=1)


# Quantus at this commit needs scipy ≥ 1.9's pearsonr(axis=...) on Python ≥ 3.10; Debian's scipy 1.10 has none.
# The same correlation, one row at a time:
import scipy.stats
import quantus.functions.perturb_func as perturb_func
import quantus.functions.similarity_func as similarity_func
from skimage.segmentation import slic
import quantus.metrics.faithfulness.faithfulness_correlation as faithfulness_correlation_module


def pearson_rows(a, b, batched=False, **_):
    if batched:
        return np.array([scipy.stats.pearsonr(aa, bb)[0] for aa, bb in zip(a, b)])
    return scipy.stats.pearsonr(a, b)[0]


similarity_func.correlation_pearson = pearson_rows
faithfulness_correlation_module.correlation_pearson = pearson_rows


def mask_all_channels(arr, mask, **kwargs):
    """IROF's replacement with its one-channel superpixel mask spread over the image's channels (Quantus asserts equal
    shapes, so that its IROF cannot run on RGB images otherwise)."""
    return perturb_func.baseline_replacement_by_mask(arr=arr, mask=np.broadcast_to(mask, arr.shape), **kwargs)


def road(x, y, a, noise):
    """Quantus's ROAD loop, ranking pixels (a one-channel map) where Quantus ranks the map spread over the channels
    and then indexes pixels with those ranks, which fails on RGB images."""
    n, _, h, w = x.shape
    order = np.argsort(-a.reshape(n, -1), axis=1)
    right = []
    for p in range(1, 100, 2):
        top = order[:, :int(h * w * p / 100)]
        xp = np.stack([perturb_func.noisy_linear_imputation(arr=xi, indices=t, noise=noise) for xi, t in zip(x, top)])
        with torch.no_grad():
            right.append(MODEL(torch.tensor(xp.astype(np.float32))).argmax(1).numpy() == y)
    return np.stack(right, 1).astype(float).mean(1).tolist()


def shift_everything(arr, input_shift, **_):
    """Input Invariance's shift of every value (Quantus's perturb_batch passes each sample's indices without the
    first, so that its own shift leaves the first value of each image as it was)."""
    return arr + input_shift


def per_image(make, x, y, a=None, s=None, explain=None, **call):
    """Quantus's scores, one image per call (see the module docstring)."""
    out = []
    for i in range(len(x)):
        r = make()(model=MODEL, x_batch=x[i:i + 1], y_batch=y[i:i + 1], a_batch=None if a is None else a[i:i + 1],
                   s_batch=None if s is None else s[i:i + 1], explain_func=explain, channel_first=True, **call)
        out.append(r)
    return out


def scalar(rs):
    return [float(np.asarray(r).reshape(-1)[0]) for r in rs]


def curves(rs):
    return [np.asarray(r).reshape(-1).astype(float).tolist() for r in rs]


def seeded(fn, seeds=SEEDS):
    """fn() under numpy seeds 0..9: one list of per-image scores per seed."""
    runs = []
    for seed in seeds:
        np.random.seed(seed)
        runs.append(fn(seed))
    return runs


def main():
    global MODEL
    os.makedirs(OUT, exist_ok=True)
    MODEL = make_model()
    x = load_images()
    with torch.no_grad():
        y = MODEL(torch.tensor(x)).argmax(1).numpy()
    # The maps under test, plus a little noise so that their values are distinct (some gradients are exactly 0) and
    # orderings, numpy's unstable argsort's included, unambiguous.
    rng = np.random.default_rng(0)

    def distinct(m, low):
        while True:
            out = (m + rng.uniform(low, 1e-6, m.shape)).astype(np.float32)
            if all(len(np.unique(r)) == r.size for r in out.reshape(len(out), -1)):
                return out

    sal = distinct(saliency(MODEL, x, y), 0)
    ixg = distinct(input_x_gradient(MODEL, x, y), -1e-6)
    n, _, h, w = x.shape
    boxes = [[10, 30, 14, 40], [4, 24, 6, 44]]  # rows y0:y1, columns x0:x1
    masks = np.zeros((n, 1, h, w), dtype=np.float32)
    for i, (y0, y1, x0, x1) in enumerate(boxes):
        masks[i, 0, y0:y1, x0:x1] = 1
    # Saliency with its weaker 70 % set to exactly 0: what Non-Sensitivity tells apart.
    sparse = np.where(sal >= np.quantile(sal.reshape(n, -1), 0.7, axis=1)[:, None, None], sal, 0).astype(np.float32)
    # The signed gradient, one value per channel (N×3×H×W).
    grad = (gradient(MODEL, x, y) + rng.uniform(-1e-9, 1e-9, x.shape)).astype(np.float32)
    assert all(len(np.unique(r)) == r.size for r in grad.reshape(n, -1))
    maps = {'saliency': sal, 'input-x-gradient': ixg, 'sparse-saliency': sparse, 'gradient': grad}
    cases = []

    def case(metric, options, map_name, scores, **extra):
        cases.append({'metric': metric, 'options': options, 'map': map_name, 'scores': scores, **extra})

    Q = quantus
    quiet = dict(disable_warnings=True)
    case('non-sensitivity', {'featuresInStep': 48}, 'sparse-saliency',
         scalar(per_image(lambda: Q.NonSensitivity(features_in_step=48, **quiet), x, y, sparse)))
    case('sparseness', {}, 'sparse-saliency', scalar(per_image(lambda: Q.Sparseness(**quiet), x, y, sparse)))
    case('effective-complexity', {}, 'sparse-saliency',
         scalar(per_image(lambda: Q.EffectiveComplexity(**quiet), x, y, sparse)))
    case('input-invariance', {}, 'saliency', scalar(per_image(
        lambda: Q.InputInvariance(perturb_func=shift_everything, **quiet), x, y, sal, explain=saliency)),
         explain='saliency')
    case('input-invariance', {}, 'input-x-gradient', scalar(per_image(
        lambda: Q.InputInvariance(perturb_func=shift_everything, **quiet), x, y, ixg, explain=input_x_gradient)),
         explain='input-x-gradient')
    # Maps with a value per channel: each channel value is a feature of its own.
    rs = per_image(lambda: Q.PixelFlipping(features_in_step=48, **quiet), x, y, grad)
    case('pixel-flipping', {'featuresInStep': 48}, 'gradient', [float(np.trapz(c)) for c in curves(rs)],
         curves=curves(rs))
    cs = curves(per_image(lambda: Q.RegionPerturbation(patch_size=8, **quiet), x, y, grad))
    case('region-perturbation', {}, 'gradient', [sum(c) / (len(c) + 1) for c in cs], curves=cs)
    rs = per_image(lambda: Q.Selectivity(patch_size=8, **quiet), x, y, grad)
    case('selectivity', {}, 'gradient', [float(np.trapz(c)) for c in curves(rs)], curves=curves(rs))
    rs = per_image(lambda: Q.IROF(perturb_func=mask_all_channels, return_aggregate=False, **quiet), x, y, grad)
    case('irof', {}, 'gradient', scalar(rs))
    for metric, make in [('sparseness', Q.Sparseness), ('complexity', Q.Complexity)]:
        case(metric, {}, 'gradient', scalar(per_image(lambda: make(**quiet), x, y, grad)))
    # Completeness: Quantus compares the map's sum with the logit's change for equality; what it compares. Its
    # baseline covers as many values as the map has (one channel of three for an H×W map), so it is given the map
    # spread over the channels, for the paper's all-black baseline image.
    completeness = {}
    for name, a in list(maps.items())[:3]:
        changes = []
        per_image(lambda: Q.Completeness(normalise=False, output_func=lambda d: changes.append(float(d[0])) or d,
                                         **quiet), x, y, np.repeat(a[:, None], 3, axis=1))
        completeness[name] = {'sum': a.reshape(n, -1).astype(float).sum(1).tolist(), 'difference': changes}
    for name, a in list(maps.items())[:2]:
        # Faithfulness
        rs = per_image(lambda: Q.PixelFlipping(features_in_step=48, **quiet), x, y, a)
        case('pixel-flipping', {'featuresInStep': 48}, name, [float(np.trapz(c)) for c in curves(rs)],
             curves=curves(rs))
        for patch in (8, 10):
            rs = per_image(lambda: Q.RegionPerturbation(patch_size=patch, **quiet), x, y, a)
            cs = curves(rs)
            # The paper's AOPC: the mean of the drops f(x) − f(x_k) for k = 0 (no drop) .. L.
            case('region-perturbation', {'patchSize': patch}, name, [sum(c) / (len(c) + 1) for c in cs], curves=cs)
        rs = per_image(lambda: Q.Selectivity(patch_size=8, **quiet), x, y, a)
        case('selectivity', {}, name, [float(np.trapz(c)) for c in curves(rs)], curves=curves(rs))
        rs = per_image(lambda: Q.MonotonicityCorrelation(features_in_step=144, nr_samples=3, perturb_baseline='black',
                                                         **quiet), x, y, a)
        case('monotonicity-correlation', {'featuresInStep': 144, 'nrSamples': 3, 'perturbBaseline': 'black'}, name,
             scalar(rs))
        rs = per_image(lambda: Q.IROF(perturb_func=mask_all_channels, return_aggregate=False, **quiet), x, y, a)
        case('irof', {}, name, scalar(rs))
        case('road', {'noise': 0}, name, road(x, y, a, 0.0))
        # Sparseness, Complexity, Effective Complexity, localisation: deterministic, no model.
        case('sparseness', {}, name, scalar(per_image(lambda: Q.Sparseness(**quiet), x, y, a)))
        case('complexity', {}, name, scalar(per_image(lambda: Q.Complexity(**quiet), x, y, a)))
        case('effective-complexity', {}, name, scalar(per_image(lambda: Q.EffectiveComplexity(**quiet), x, y, a)))
        for metric, make in [('pointing-game', lambda: Q.PointingGame(**quiet)),
                             ('attribution-localisation', lambda: Q.AttributionLocalisation(**quiet)),
                             ('top-k-intersection', lambda: Q.TopKIntersection(**quiet)),
                             ('relevance-mass-accuracy', lambda: Q.RelevanceMassAccuracy(**quiet)),
                             ('relevance-rank-accuracy', lambda: Q.RelevanceRankAccuracy(**quiet)),
                             ('auc', lambda: Q.AUC(**quiet))]:
            case(metric, {}, name, scalar(per_image(make, x, y, a, masks)))
    # Stochastic metrics: Quantus under numpy seeds 0..9, on the saliency map.
    a = sal
    stochastic = []

    def spread(metric, options, runs, map_name='saliency'):
        stochastic.append({'metric': metric, 'options': options, 'map': map_name, 'seeds': runs})

    spread('road', {}, seeded(lambda _: road(x, y, a, 0.01)))
    spread('faithfulness-correlation', {}, seeded(lambda _: scalar(
        per_image(lambda: Q.FaithfulnessCorrelation(return_aggregate=False, **quiet), x, y, a))))
    spread('monotonicity-correlation', {'featuresInStep': 144, 'nrSamples': 20}, seeded(lambda _: scalar(
        per_image(lambda: Q.MonotonicityCorrelation(features_in_step=144, nr_samples=20, **quiet), x, y, a))))
    # Quantus's imputation of the 60% most salient pixels of the first image, without noise: the values it gives
    # them, channel by channel, pixels from the most salient.
    top = np.argsort(-sal[0].reshape(-1))[:int(h * w * 0.6)]
    imputed = perturb_func.noisy_linear_imputation(arr=x[0], indices=top, noise=0.0).reshape(3, -1)[:, top]
    imputation = {'image': 0, 'share': 0.6, 'imputed': b64(imputed)}
    # Robustness: saliency re-run on 20 noisy copies per image. Yeh et al. do not divide by the map's norm (netvis's
    # default, Quantus with a unit norm_denominator); Quantus does by default (netvis's relative: true).
    unit = lambda a: np.ones(len(a))
    for metric, make in [('max-sensitivity', Q.MaxSensitivity), ('avg-sensitivity', Q.AvgSensitivity)]:
        spread(metric, {'nrSamples': 20}, seeded(lambda _: scalar(per_image(
            lambda: make(nr_samples=20, norm_denominator=unit, **quiet), x, y, a, explain=saliency))))
        spread(metric, {'nrSamples': 20, 'relative': True}, seeded(lambda _: scalar(per_image(
            lambda: make(nr_samples=20, **quiet), x, y, a, explain=saliency))))
    spread('local-lipschitz-estimate', {'nrSamples': 20}, seeded(lambda _: scalar(per_image(
        lambda: Q.LocalLipschitzEstimate(nr_samples=20, **quiet), x, y, a, explain=saliency))))
    spread('relative-input-stability', {'nrSamples': 20}, seeded(lambda _: scalar(per_image(
        lambda: Q.RelativeInputStability(nr_samples=20, **quiet), x, y, a, explain=saliency))))
    # Randomisation: the weights' seed (Quantus's seed argument) and Random Logit's class draw vary.
    spread('mprt', {}, seeded(lambda seed: [float(list(r.values())[-1][0]) for r in per_image(
        lambda: Q.MPRT(seed=seed, **quiet), x, y, a, explain=saliency)]))
    spread('efficient-mprt', {}, seeded(lambda seed: scalar(per_image(
        lambda: Q.EfficientMPRT(seed=seed, **quiet), x, y, a, explain=saliency))))
    spread('random-logit', {}, seeded(lambda seed: scalar(per_image(
        lambda: Q.RandomLogit(num_classes=10, seed=seed, **quiet), x, y, a, explain=saliency))))
    # Quantus's SSIM of the saliency and input×gradient maps, each normalised by its largest absolute value.
    unit_max = lambda m: m / np.abs(m).max(axis=(1, 2), keepdims=True)
    ssim = similarity_func.ssim(unit_max(sal).reshape(n, -1), unit_max(ixg).reshape(n, -1), batched=True)
    with open(os.path.join(OUT, 'reference.json'), 'w') as f:
        json.dump({
            'quantus': '85bc29d137d8f42835dd392f5cc441ad61d6d1f1',
            'made_by': 'scripts/quantus-reference.py',
            'images': NAMES,
            'dims': list(x.shape),
            'x': b64(x),
            'labels': y.tolist(),
            'maps': {k: b64(v) for k, v in maps.items()},
            'boxes': boxes,
            # The superpixels Quantus's IROF works on.
            'segments': [slic(np.moveaxis(im, 0, -1).astype('double'), start_label=0).reshape(-1).tolist() for im in x],
            'imputation': imputation,
            'completeness': completeness,
            'ssim': [float(v) for v in ssim],
            'cases': cases,
            'stochastic': stochastic,
        }, f, separators=(',', ':'))


if __name__ == '__main__':
    main()
