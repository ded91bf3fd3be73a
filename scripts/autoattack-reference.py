#!/usr/bin/python3
"""Runs the reference AutoAttack (github:fra31/auto-attack, commit a39220048b3c9f2cca9a4d3a54604793c68eca7e) on
torchvision's SqueezeNet 1.1 (../shared/models/squeezenet1_1.pth) and the shared reference images, as RobustBench
does: inputs in [0, 1] (../shared/reference/inputs.npy de-normalised, i.e. the 8-bit crops / 255) with the
ImageNet normalisation inside the model, labels from meta.json, budget eps in 0-255 pixel units (eps/255 in
[0, 1]), L-inf or L2 (--norm).

Two configurations, both the reference's own classes and loop (run_standard_evaluation, each attack only on the
images still robust), for either version (--version):
  standard  AutoAttack's own settings. version 'standard': APGD-CE (100 iterations), APGD-T (9 target classes, 100
            iterations), FAB-T (9 target classes, 100 iterations), Square (5000 queries); version 'rand': APGD-CE and
            APGD-DLR, 100 iterations, 20 gradients averaged per step (EOT)
  test      version='custom' with the version's attacks, cheaper (the netvis tests' time budget): APGD 10 iterations
            (the checkpoints follow from 10) and 1 restart, APGD-T and FAB-T 1 target class, FAB-T 10 iterations,
            Square 100 queries; EOT as the version has it (20 for 'rand', else 1). The netvis tests
            (test/autoattack.test.ts) run exactly these settings.
--attacks replaces the version's list by some of the five attacks, run in the order given (version 'custom'),
e.g. one attack alone to see it at work on all the images.

usage: PYTHONPATH=/work/peers/autoattack /usr/bin/python3 scripts/autoattack-reference.py --eps 0.1 [--config test]
       [--version standard|rand] [--norm Linf|L2] [--images 25] [--seed 0] [--threads 2] [--attacks fab-t square]
Prints one JSON object per eps, each on a line of its own among AutoAttack's log: clean count, robust count after
each attack, per-image outcome, wall time.
test/fixtures/autoattack-reference*.json hold its outputs for the configurations the tests use (each notes the
command that made it)."""
import argparse, json, os, re, subprocess, tempfile, time
import numpy as np, torch, torchvision

here = os.path.dirname(os.path.abspath(__file__))
shared = os.path.join(here, "..", "..", "shared")
ap = argparse.ArgumentParser()
ap.add_argument("--eps", type=float, nargs="+", required=True, help="budgets in 0-255 pixel units")
ap.add_argument("--config", choices=["standard", "test"], default="test")
ap.add_argument("--version", choices=["standard", "rand"], default="standard")
ap.add_argument("--norm", choices=["Linf", "L2"], default="Linf")
ap.add_argument("--images", type=int, default=25, help="the first N reference images")
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--attacks", nargs="+", choices=["apgd-ce", "apgd-t", "fab-t", "square", "apgd-dlr"],
                help="test config only: run these attacks in this order instead of the version's")
args = ap.parse_args()
if args.attacks and args.config != "test":
    ap.error("--attacks needs --config test")
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

EOT = 20 if args.version == "rand" else 1
TEST = {"iterations": 10, "target_classes": 1, "queries": 100, "eot": EOT}
VERSION = {"standard": ["apgd-ce", "apgd-t", "fab-t", "square"], "rand": ["apgd-ce", "apgd-dlr"]}[args.version]
STAGES = args.attacks or VERSION


def autoattack(eps):
    if args.config == "standard":
        return AutoAttack(model, norm=args.norm, eps=eps, version=args.version, seed=args.seed, device="cpu")
    aa = AutoAttack(model, norm=args.norm, eps=eps, version="custom", attacks_to_run=STAGES, seed=args.seed,
                    device="cpu")
    n = TEST["iterations"]
    # APGD's checkpoints are fixed from n_iter in its constructor, so the APGD attacks are made anew.
    aa.apgd = APGDAttack(model, n_restarts=1, n_iter=n, eps=eps, norm=args.norm, eot_iter=EOT, rho=.75,
                         seed=args.seed, device="cpu", logger=aa.logger)
    aa.apgd_targeted = APGDAttack_targeted(model, n_restarts=1, n_iter=n, eps=eps, norm=args.norm, eot_iter=1,
                                           rho=.75, seed=args.seed, device="cpu", logger=aa.logger,
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
    # The log gives the total time after each attack; each stage's own time is the difference.
    totals = [(m.group(1).lower(), float(m.group(2)))
              for m in re.finditer(r"robust accuracy after ([A-Z-]+): [\d.]+% \(total time ([\d.]+) s\)", text)]
    stage_seconds = {a: round(t - (totals[i - 1][1] if i else 0.0), 1) for i, (a, t) in enumerate(totals)}
    with torch.no_grad():
        clean = model(x).argmax(1) == y
        robust = model(x_adv).argmax(1) == y
    delta = (x_adv - x).flatten(1) * 255
    size = delta.abs().max(1).values if args.norm == "Linf" else delta.norm(dim=1)
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
        "config": args.config, "version": args.version, **({"settings": TEST} if args.config == "test" else {}),
        "attacks": STAGES, "eps": eps255, "units": "0-255", "norm": args.norm, "seed": args.seed,
        "images": meta["images"][:n],
        "clean": int(clean.sum()), "robust": int(robust.sum()), "broke": broke,
        "robust_images": [i for i in range(n) if robust[i]],
        f"max_{args.norm.lower()}": round(float(size.max()), 6), "seconds": round(seconds, 1),
        "stage_seconds": stage_seconds,
    }), flush=True)
