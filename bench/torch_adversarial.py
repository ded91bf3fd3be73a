#!/usr/bin/python3
"""PyTorch CPU baselines for netvis's adversarial and feature-visualization loops, written as netvis runs them
(src/methods/adversarial/budgeted.ts, src/methods/featureviz/feature-visualization.ts), on the same SqueezeNet 1.1
weights and reference images.
usage: /usr/bin/python3 torch_adversarial.py [--threads 2] [--repeat 3]
Prints one JSON object: median milliseconds per workload."""
import argparse, json, math, os, random, statistics, time
import numpy as np, torch, torch.nn.functional as F, torchvision

here = os.path.dirname(os.path.abspath(__file__))
shared = os.path.join(here, "..", "..", "shared")
ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--repeat", type=int, default=3)
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


def median_ms(fn, repeat):
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter(); fn(); ts.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(ts), 2)


def pgd_linf(images, eps=8 / 255, alpha=2 / 255, steps=10):
    """torchattacks-style PGD (cross-entropy, random start) in [0, 1] pixels, plus what netvis also does: the
    clean prediction first, and the final image rounded to 8 bits and classified."""
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


def featureviz(layer=9, channel=12, steps=256, size=224, pad=12, jitter=6, lr=0.05):
    """Adam on a Fourier-parameterized image maximising a channel mean of `features[layer]`, under Lucid's random
    jitter, scale and rotation resampled (bilinear, grey outside) onto a fixed-size view, as netvis does."""
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.fftfreq(size)[: size // 2 + 1]
    freqs = np.sqrt(fx * fx + fy * fy)
    scale = torch.tensor((1.0 / np.maximum(freqs, 1.0 / size)) * size / 4, dtype=torch.float32)
    scales = [1 + (i - 5) / 50 for i in range(11)]
    angles = list(range(-10, 11)) + [0] * 5
    acts = {}
    model.features[layer].register_forward_hook(lambda m, i, o: acts.__setitem__("out", o))

    def run():
        torch.manual_seed(0); rnd = random.Random(1)
        spec = (0.01 * torch.randn(2, 3, size, size // 2 + 1)).requires_grad_(True)
        opt = torch.optim.Adam([spec], lr=lr, eps=1e-8)
        for _ in range(steps):
            raw = torch.fft.irfft2(torch.complex(spec[0], spec[1]) * scale, s=(size, size))
            rgb = torch.sigmoid(torch.einsum("ij,jhw->ihw", COLOR, raw))[None]
            zoom = rnd.choice(scales) * size / (size + 2 * pad)
            a = math.radians(rnd.choice(angles))
            dx, dy = rnd.randint(-jitter, jitter), rnd.randint(-jitter, jitter)
            # Normalised source coordinates of each view pixel (align_corners: ±1 at the edge pixel centres).
            t = 2 / (size - 1)
            theta = torch.tensor([[[math.cos(a) / zoom, math.sin(a) / zoom, dx * t],
                                   [-math.sin(a) / zoom, math.cos(a) / zoom, dy * t]]], dtype=torch.float32)
            grid = F.affine_grid(theta, [1, 3, size, size], align_corners=True)
            view = F.grid_sample(rgb - 0.5, grid, mode="bilinear", padding_mode="zeros", align_corners=True) + 0.5
            model((view - MEAN) / STD)
            loss = -acts["out"][0, channel].mean()
            opt.zero_grad(); loss.backward(); opt.step()
        return loss.item()
    return run


images = torch.from_numpy(np.load(args.inputs)[:8])
out = {"engine": f"torch {torch.__version__} cpu", "threads": torch.get_num_threads()}
out["pgd_linf_10_steps_n8_ms"] = median_ms(pgd_linf(images), args.repeat)
out["featureviz_fft_256_steps_ms"] = median_ms(featureviz(), max(1, args.repeat // 2))
print(json.dumps(out))
