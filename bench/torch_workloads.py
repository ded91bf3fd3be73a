#!/usr/bin/python3
"""PyTorch CPU baselines for `npm run bench`, run one at a time on request so that the benchmark can interleave
them with netvis's runs of the same workload (both engines then see the same load on the machine).

The workloads compute what netvis computes, on the same SqueezeNet 1.1 weights and reference images:
forward, input_gradient and class_visualization as ../shared/bench/torch_baseline.py does; PGD-L-inf and Fourier
feature visualization as src/methods/adversarial/budgeted.ts and src/methods/featureviz/ run them; SmoothGrad and
Integrated Gradients as src/methods/attribution/ batch them; logits + input gradient of the architectures of
../shared/fixtures/modern, built with torchvision's own classes as that README says (random weights, seed 0).

Protocol (one JSON object per line): prints {"ready": true, "engine": ..., "threads": ...}; then for each request
{"run": NAME, ...arguments} it runs the workload once and prints {"ms": wall milliseconds}; end of input ends it.
Needs Debian's python3-torch, python3-torchvision, python3-scipy.
usage: /usr/bin/python3 bench/torch_workloads.py [--threads N]"""
import argparse, json, math, os, random, sys, time
import numpy as np, torch, torch.nn.functional as F, torchvision
from scipy.ndimage import gaussian_filter1d
from torchvision.models.convnext import CNBlockConfig, ConvNeXt
from torchvision.models.vision_transformer import VisionTransformer

here = os.path.dirname(os.path.abspath(__file__))
shared = os.path.join(here, "..", "..", "shared")
ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--weights", default=os.path.join(shared, "models", "squeezenet1_1.pth"))
ap.add_argument("--inputs", default=os.path.join(shared, "reference", "inputs.npy"))
args = ap.parse_args()
torch.set_num_threads(args.threads)
model = torchvision.models.squeezenet1_1()
model.load_state_dict(torch.load(args.weights))
model.eval()
for p in model.parameters():
    p.requires_grad_(False)
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
INPUTS = torch.from_numpy(np.load(args.inputs, mmap_mode="r")[:8].copy())


def forward(n):
    x = torch.randn(n, 3, 224, 224)

    def run():
        with torch.no_grad():
            model(x)
    return run


def input_gradient(n):
    x = torch.randn(n, 3, 224, 224); y = torch.arange(n) * 7

    def run():
        xx = x.clone().requires_grad_(True)
        s = model(xx).gather(1, y.view(-1, 1)).squeeze()
        s.backward(torch.ones_like(s))
        return xx.grad
    return run


def jitter(X, ox, oy):
    if ox != 0: X = torch.cat([X[:, :, :, -ox:], X[:, :, :, :-ox]], dim=3)
    if oy != 0: X = torch.cat([X[:, :, -oy:], X[:, :, :-oy]], dim=2)
    return X


def class_visualization(steps, target=76, l2_reg=1e-3, lr=25, blur_every=10, max_jitter=16):
    lo = (-MEAN / STD).view(3); hi = ((1 - MEAN) / STD).view(3)

    def run():
        torch.manual_seed(0); random.seed(0)
        img = torch.randn(1, 3, 224, 224).requires_grad_()
        for t in range(steps):
            ox, oy = random.randint(0, max_jitter), random.randint(0, max_jitter)
            img.data.copy_(jitter(img.data, ox, oy))
            score = model(img)[0, target] - l2_reg * img.norm() ** 2
            score.backward()
            with torch.no_grad():
                img += lr * img.grad / img.grad.norm(); img.grad.zero_()
            img.data.copy_(jitter(img.data, -ox, -oy))
            for c in range(3):
                img.data[:, c].clamp_(min=float(lo[c]), max=float(hi[c]))
            if t % blur_every == 0:
                Xn = gaussian_filter1d(gaussian_filter1d(img.data.numpy(), 0.5, axis=2), 0.5, axis=3)
                img.data.copy_(torch.from_numpy(Xn))
    return run


def pgd_linf(n, steps, eps=8 / 255, alpha=2 / 255):
    """torchattacks-style PGD (cross-entropy, random start) in [0, 1] pixels, plus what netvis also does: the
    clean prediction first, and the final image rounded to 8 bits and classified."""
    images = INPUTS[:n]

    def run():
        u0 = torch.round((images * STD + MEAN).clamp(0, 1) * 255) / 255
        with torch.no_grad():
            labels = model((u0 - MEAN) / STD).argmax(1)
        torch.manual_seed(0)
        u = (u0 + torch.empty_like(u0).uniform_(-eps, eps)).clamp(0, 1)
        for _ in range(steps):
            u.requires_grad_(True)
            loss = F.cross_entropy(model((u - MEAN) / STD), labels)
            (g,) = torch.autograd.grad(loss, u)
            with torch.no_grad():
                u = u + alpha * g.sign()
                u = torch.min(torch.max(u, u0 - eps), u0 + eps).clamp(0, 1)
        final = torch.round(u.detach() * 255) / 255
        with torch.no_grad():
            return model((final - MEAN) / STD).argmax(1)
    return run


# Lucid's Fourier parameterization with decorrelated colours (lucid/optvis/param/{spatial,color}.py).
COLOR = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
COLOR = COLOR / COLOR.norm(dim=0).max()
ACTS = {}
model.features[9].register_forward_hook(lambda m, i, o: ACTS.__setitem__("out", o))


def featureviz(steps, channel=12, size=224, pad=12, jitter_px=6, lr=0.05):
    """Adam on a Fourier-parameterized image maximising a channel mean of features.9, under Lucid's random jitter,
    scale and rotation resampled (bilinear, grey outside) onto a fixed-size view, as netvis does."""
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.fftfreq(size)[: size // 2 + 1]
    freqs = np.sqrt(fx * fx + fy * fy)
    scale = torch.tensor((1.0 / np.maximum(freqs, 1.0 / size)) * size / 4, dtype=torch.float32)
    scales = [1 + (i - 5) / 50 for i in range(11)]
    angles = list(range(-10, 11)) + [0] * 5

    def run():
        torch.manual_seed(0); rnd = random.Random(1)
        spec = (0.01 * torch.randn(2, 3, size, size // 2 + 1)).requires_grad_(True)
        opt = torch.optim.Adam([spec], lr=lr, eps=1e-8)
        for _ in range(steps):
            raw = torch.fft.irfft2(torch.complex(spec[0], spec[1]) * scale, s=(size, size))
            rgb = torch.sigmoid(torch.einsum("ij,jhw->ihw", COLOR, raw))[None]
            zoom = rnd.choice(scales) * size / (size + 2 * pad)
            a = math.radians(rnd.choice(angles))
            dx, dy = rnd.randint(-jitter_px, jitter_px), rnd.randint(-jitter_px, jitter_px)
            # Normalised source coordinates of each view pixel (align_corners: ±1 at the edge pixel centres).
            t = 2 / (size - 1)
            theta = torch.tensor([[[math.cos(a) / zoom, math.sin(a) / zoom, dx * t],
                                   [-math.sin(a) / zoom, math.cos(a) / zoom, dy * t]]], dtype=torch.float32)
            grid = F.affine_grid(theta, [1, 3, size, size], align_corners=True)
            view = F.grid_sample(rgb - 0.5, grid, mode="bilinear", padding_mode="zeros", align_corners=True) + 0.5
            model((view - MEAN) / STD)
            loss = -ACTS["out"][0, channel].mean()
            opt.zero_grad(); loss.backward(); opt.step()
        return loss.item()
    return run


def target_grads(x, target, points):
    """d logit[target] / d input for each row of `points`."""
    p = points.clone().requires_grad_(True)
    model(p)[:, target].sum().backward()
    return p.grad


def smoothgrad(batch, samples=25, noise_level=0.15):
    x = INPUTS[:1]
    with torch.no_grad():
        target = int(model(x).argmax(1))

    def run():
        sigma = noise_level * float(x.max() - x.min())
        total = torch.zeros_like(x, dtype=torch.float64)
        for start in range(0, samples, batch):
            n = min(batch, samples - start)
            total += target_grads(x, target, x + sigma * torch.randn(n, *x.shape[1:])).sum(0, keepdim=True).double()
        return (total / samples).float()
    return run


def integrated_gradients(batch, steps=50):
    """50 Gauss-Legendre points from a black baseline, float64 sums."""
    x = INPUTS[:1]
    with torch.no_grad():
        target = int(model(x).argmax(1))
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    alphas = torch.from_numpy((1 - nodes) / 2).float().view(-1, 1, 1, 1)
    w = torch.from_numpy(weights / 2).view(-1, 1, 1, 1)
    baseline = (torch.zeros_like(x) - MEAN) / STD

    def run():
        total = torch.zeros_like(x, dtype=torch.float64)
        for start in range(0, steps, batch):
            g = target_grads(x, target, baseline + alphas[start:start + batch] * (x - baseline))
            total += (w[start:start + batch] * g.double()).sum(0, keepdim=True)
        return ((x - baseline).double() * total).float()
    return run


MODERN = {
    "vit_small_patch16": lambda: VisionTransformer(
        image_size=224, patch_size=16, num_layers=3, num_heads=4, hidden_dim=128, mlp_dim=256),
    "convnext_mini": lambda: ConvNeXt([
        CNBlockConfig(32, 64, 1), CNBlockConfig(64, 128, 1), CNBlockConfig(128, 256, 2), CNBlockConfig(256, None, 1)]),
}


def modern_input_gradient(model, n):
    """d sum_i logits[i, 7i] / d input for n random images, on a modern fixture's architecture."""
    torch.manual_seed(0)
    net = MODERN[model]().eval()
    for p in net.parameters():
        p.requires_grad_(False)
    x = torch.randn(n, 3, 224, 224); targets = torch.arange(n) * 7

    def run():
        xx = x.clone().requires_grad_(True)
        net(xx).gather(1, targets.view(-1, 1)).sum().backward()
        return xx.grad
    return run


WORKLOADS = {
    "forward": forward, "input_gradient": input_gradient, "class_visualization": class_visualization,
    "pgd_linf": pgd_linf, "featureviz": featureviz, "smoothgrad": smoothgrad,
    "integrated_gradients": integrated_gradients, "modern_input_gradient": modern_input_gradient,
}
made = {}
print(json.dumps({"ready": True, "engine": f"torch {torch.__version__} cpu", "threads": torch.get_num_threads()}), flush=True)
for line in sys.stdin:
    request = json.loads(line)
    key = line.strip()
    if key not in made:
        name = request.pop("run")
        made[key] = WORKLOADS[name](**request)
    t0 = time.perf_counter()
    made[key]()
    print(json.dumps({"ms": round((time.perf_counter() - t0) * 1000, 2)}), flush=True)
