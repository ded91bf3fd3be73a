#!/usr/bin/python3
"""Runs the reference AutoAttack (github:fra31/auto-attack, commit a39220048b3c9f2cca9a4d3a54604793c68eca7e) on
torchvision's SqueezeNet 1.1 (../shared/models/squeezenet1_1.pth) and the shared reference images, as RobustBench
does: inputs in [0, 1] (../shared/reference/inputs.npy de-normalised, i.e. the 8-bit crops / 255) with the
ImageNet normalisation inside the model, labels from meta.json, L-inf budget eps/255.

Two configurations, both the reference's own classes and loop (run_standard_evaluation, each attack only on the
images still robust):
  standard  version='standard': APGD-CE (100 iterations), APGD-T (9 target classes, 100 iterations), FAB-T
            (9 target classes, 100 iterations), Square (5000 queries)
  test      version='custom' with the same four attacks, cheaper (the netvis test's time budget): APGD-CE and APGD-T
            10 iterations (the checkpoints follow from 10), APGD-T and FAB-T 1 target class, FAB-T 10 iterations,
            Square 100 queries. The netvis test (test/autoattack.test.ts) runs exactly these settings.

usage: PYTHONPATH=/work/peers/autoattack /usr/bin/python3 scripts/autoattack-reference.py --eps 0.1 [--config test]
       [--images 25] [--seed 0] [--threads 2] [--attacks fab-t square]
Prints one JSON object (per eps): clean count, robust count after each attack, per-image outcome, wall time.
test/fixtures/autoattack-reference.json holds its output for the configuration the test uses."""
import argparse, json, os, re, subprocess, tempfile, time
import numpy as np, torch, torchvision

here = os.path.dirname(os.path.abspath(__file__))
shared = os.path.join(here, "..", "..", "shared")
ap = argparse.ArgumentParser()
ap.add_argument("--eps", type=float, nargs="+", required=True, help="L-inf budgets in 0-255 pixel units")
ap.add_argument("--config", choices=["standard", "test"], default="test")
ap.add_argument("--images", type=int, default=25, help="the first N reference images")
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--attacks", nargs="+", choices=["apgd-ce", "apgd-t", "fab-t", "square"],
                help="test config only: run these of the four (in AutoAttack's order), to see the later ones at work")
args = ap.parse_args()
torch.set_num_threads(args.threads)

from autoattack import AutoAttack
from autoattack.autopgd_base import APGDAttack, APGDAttack_targeted

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


class Normalised(torch.nn.Module):
    """RobustBench's convention: the model takes [0, 1] pixels and normalises them itself."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net((x - MEAN) / STD)


net = torchvision.models.squeezenet1_1()
net.load_state_dict(torch.load(os.path.join(shared, "models", "squeezenet1_1.pth")))
model = Normalised(net).eval()
for p in model.parameters():
    p.requires_grad_(False)

meta = json.load(open(os.path.join(shared, "reference", "meta.json")))
inputs = torch.from_numpy(np.load(os.path.join(shared, "reference", "inputs.npy")))[: args.images]
x = torch.round((inputs.double() * STD + MEAN) * 255).clamp(0, 255).float() / 255
y = torch.tensor(meta["labels"][: args.images])

TEST = {"iterations": 10, "target_classes": 1, "queries": 100}
STAGES = [a for a in ["apgd-ce", "apgd-t", "fab-t", "square"] if args.attacks is None or a in args.attacks]


def autoattack(eps):
    if args.config == "standard":
        return AutoAttack(model, norm="Linf", eps=eps, version="standard", seed=args.seed, device="cpu")
    aa = AutoAttack(model, norm="Linf", eps=eps, version="custom", attacks_to_run=STAGES, seed=args.seed,
                    device="cpu")
    n = TEST["iterations"]
    # APGD's checkpoints are fixed from n_iter in its constructor, so the APGD attacks are made anew.
    aa.apgd = APGDAttack(model, n_restarts=1, n_iter=n, eps=eps, norm="Linf", eot_iter=1, rho=.75, seed=args.seed,
                         device="cpu", logger=aa.logger)
    aa.apgd_targeted = APGDAttack_targeted(model, n_restarts=1, n_iter=n, eps=eps, norm="Linf", eot_iter=1, rho=.75,
                                           seed=args.seed, device="cpu", logger=aa.logger,
                                           n_target_classes=TEST["target_classes"])
    aa.fab.n_restarts = 1
    aa.fab.n_iter = n
    aa.fab.n_target_classes = TEST["target_classes"]
    aa.square.n_queries = TEST["queries"]
    return aa


def peer_commit():
    try:
        return subprocess.check_output(["git", "-C", "/work/peers/autoattack", "rev-parse", "HEAD"],
                                       text=True, stderr=subprocess.DEVNULL).strip()
    except (OSError, subprocess.CalledProcessError):
        return "a39220048b3c9f2cca9a4d3a54604793c68eca7e"


for eps255 in args.eps:
    aa = autoattack(eps255 / 255)
    with tempfile.NamedTemporaryFile("r", suffix=".log") as log:
        aa.logger.log_path = log.name
        t0 = time.perf_counter()
        x_adv, y_adv = aa.run_standard_evaluation(x, y, bs=250, return_labels=True)
        seconds = time.perf_counter() - t0
        text = log.read()
    n = len(y)
    after = {m.group(1).lower(): round(float(m.group(2)) * n / 100)
             for m in re.finditer(r"robust accuracy after ([A-Z-]+): ([\d.]+)%", text)}
    with torch.no_grad():
        clean = model(x).argmax(1) == y
        robust = model(x_adv).argmax(1) == y
    linf = (x_adv - x).abs().flatten(1).max(1).values * 255
    robust_before = int(clean.sum())
    broke = {}
    for stage in STAGES:
        if stage in after:
            broke[stage] = robust_before - after[stage]
            robust_before = after[stage]
        else:
            broke[stage] = 0  # AutoAttack stops once no image is robust
    print(json.dumps({
        "peer": "fra31/auto-attack", "commit": peer_commit(), "torch": torch.__version__,
        "config": args.config, **({"settings": TEST} if args.config == "test" else {}),
        "eps": eps255, "units": "0-255", "norm": "Linf", "seed": args.seed, "images": meta["images"][:n],
        "clean": int(clean.sum()), "robust": int(robust.sum()), "broke": broke,
        "robust_images": [i for i in range(n) if robust[i]],
        "max_linf": round(float(linf.max()), 6), "seconds": round(seconds, 1),
    }), flush=True)
