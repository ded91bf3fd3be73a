#!/usr/bin/python3
"""Makes test/fixtures/objective-heads.json: per-row values and logit gradients of netvis's objective heads,
computed in float64 by PyTorch autograd. DLR and the targeted CE are AutoAttack's own functions (peer commit
a39220048b3c9f2cca9a4d3a54604793c68eca7e, autoattack/autopgd_base.py); CW's f6 follows Carlini & Wagner (2017).
usage: PYTHONPATH=/work/peers/autoattack /usr/bin/python3 scripts/objective-heads-fixture.py > test/fixtures/objective-heads.json"""
import json, types
import torch, torch.nn.functional as F
from autoattack.autopgd_base import APGDAttack, APGDAttack_targeted

torch.manual_seed(0)
N, K = 6, 10
z = torch.randn(N, K, dtype=torch.float64) * 3
labels = torch.tensor([0, 3, 9, 5, 2, 7])
targets = torch.tensor([4, 3, 1, 6, 8, 0])
# Rows where the label is the top class, so the "largest other" is the runner-up (AutoAttack's `ind` branch).
for i in (0, 2, 4):
    z[i, labels[i]] = z[i].max() + 0.7
# A row whose target wins by more than κ = 2: the targeted margin sits on its floor there.
z[5, targets[5]] = z[5].max() + 3


def cw_margin(targeted, kappa):
    def f(x, c):
        other = x.clone()
        other[torch.arange(N), c] = -float("inf")
        zo, zc = other.max(1).values, x[torch.arange(N), c]
        return torch.clamp(zo - zc if targeted else zc - zo, min=-kappa)
    return f


def dlr_targeted(x, c):
    # AutoAttack's dlr_loss_targeted(x, y) reads the target from self.y_target; here c is the target.
    return APGDAttack_targeted.dlr_loss_targeted(types.SimpleNamespace(y_target=c), x, labels)


cases = {
    "cross-entropy": ({"kind": "cross-entropy"}, lambda x, c: F.cross_entropy(x, c, reduction="none"), labels),
    "log-softmax": ({"kind": "log-softmax"}, lambda x, c: F.log_softmax(x, 1)[torch.arange(N), c], targets),
    "cw-margin": ({"kind": "cw-margin", "targeted": False}, cw_margin(False, 0.0), labels),
    "cw-margin targeted kappa 2": ({"kind": "cw-margin", "targeted": True, "kappa": 2.0}, cw_margin(True, 2.0), targets),
    "dlr": ({"kind": "dlr", "targeted": False}, lambda x, c: APGDAttack.dlr_loss(None, x, c), labels),
    "dlr targeted": ({"kind": "dlr", "targeted": True}, dlr_targeted, targets),
}
weights = torch.tensor([1.0, -1.0, 0.5, 2.0, 0.0, 1.0], dtype=torch.float64)
out = {"logits": z.tolist(), "labels": labels.tolist(), "targets": targets.tolist(), "weights": weights.tolist(), "heads": {}}
for name, (head, fn, classes) in cases.items():
    x = z.clone().requires_grad_(True)
    loss = fn(x, classes)
    (g,) = torch.autograd.grad((loss * weights).sum(), x)
    out["heads"][name] = {"head": head, "classes": classes.tolist(), "loss": loss.tolist(), "grad": g.tolist()}
print(json.dumps(out))
