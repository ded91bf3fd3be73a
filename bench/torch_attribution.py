#!/usr/bin/python3
"""PyTorch CPU baseline for netvis's attribution benchmark: SmoothGrad (25 samples) and Integrated Gradients
(50 Gauss-Legendre points from a black baseline) for one 224x224 image with SqueezeNet 1.1, computed as netvis
computes them: noisy copies / path points in batches of --batch, gradients of the target's logit, float64 sums.
usage: /usr/bin/python3 bench/torch_attribution.py [--threads N] [--repeat 5] [--batch 5]
Prints one JSON object: median and minimum milliseconds per workload, at --batch and with everything in one batch."""
import argparse, json, os, statistics, time
import numpy as np, torch, torchvision

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--repeat", type=int, default=5)
ap.add_argument("--batch", type=int, default=5)
here = os.path.dirname(os.path.abspath(__file__))
ap.add_argument("--weights", default=os.path.join(here, "..", "..", "shared", "models", "squeezenet1_1.pth"))
ap.add_argument("--inputs", default=os.path.join(here, "..", "..", "shared", "reference", "inputs.npy"))
args = ap.parse_args()
torch.set_num_threads(args.threads)
model = torchvision.models.squeezenet1_1()
model.load_state_dict(torch.load(args.weights))
model.eval()
for p in model.parameters():
    p.requires_grad_(False)
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
x = torch.from_numpy(np.load(args.inputs, mmap_mode="r")[:1].copy())
with torch.no_grad():
    target = int(model(x).argmax(1))


def timings_ms(fn, repeat):
    """Median and minimum wall time over `repeat` runs after a warm-up (the minimum is the least disturbed by other load)."""
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter(); fn(); ts.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(ts), 2), round(min(ts), 2)


def grads(points):
    """d logit[target] / d input for each row of `points`."""
    p = points.clone().requires_grad_(True)
    model(p)[:, target].sum().backward()
    return p.grad


def smoothgrad(batch, samples=25, noise_level=0.15):
    def run():
        sigma = noise_level * float(x.max() - x.min())
        total = torch.zeros_like(x, dtype=torch.float64)
        for start in range(0, samples, batch):
            n = min(batch, samples - start)
            g = grads(x + sigma * torch.randn(n, *x.shape[1:]))
            total += g.sum(0, keepdim=True).double()
        return (total / samples).float()
    return run


def integrated_gradients(batch, steps=50):
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    alphas = torch.from_numpy((1 - nodes) / 2).float().view(-1, 1, 1, 1)
    w = torch.from_numpy(weights / 2).view(-1, 1, 1, 1)
    baseline = ((torch.zeros_like(x) - MEAN) / STD)

    def run():
        total = torch.zeros_like(x, dtype=torch.float64)
        for start in range(0, steps, batch):
            a = alphas[start:start + batch]
            g = grads(baseline + a * (x - baseline))
            total += (w[start:start + batch] * g.double()).sum(0, keepdim=True)
        return ((x - baseline).double() * total).float()
    return run


out = {"engine": f"torch {torch.__version__} cpu", "threads": torch.get_num_threads(), "batch": args.batch}
for name, fn in [("smoothgrad_25", smoothgrad(args.batch)), ("integrated_gradients_50", integrated_gradients(args.batch)),
                 ("smoothgrad_25_one_batch", smoothgrad(25)), ("integrated_gradients_50_one_batch", integrated_gradients(50))]:
    out[f"{name}_ms"], out[f"{name}_min_ms"] = timings_ms(fn, args.repeat)
print(json.dumps(out))
