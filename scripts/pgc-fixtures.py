#!/usr/bin/python3
"""pytorch-grad-cam references that ../shared/reference/peers/ does not hold, for test/cam-family.test.ts.

usage: PYTHONPATH=GRADCAM:TTACH /usr/bin/python3 scripts/pgc-fixtures.py [--shared ../shared] [--out test/fixtures]

Peer: jacobgil/pytorch-grad-cam 084273b3f30b54ad0c64cf8020a4337d979a66e0 with qubvel/ttach 94e579e, PyTorch 1.13
(Debian). Model: torchvision SqueezeNet 1.1 with shared/models/squeezenet1_1.pth, .eval(), ReLUs not in place.
Writes (float32 .npy):
  pgc_eigengradcam_projection.npy 8×13×13: get_2d_projection(grads * activations) at features.12 (EigenGradCAM
      before base_cam's ReLU; the SVD's sign is arbitrary) for the first 8 shared inputs and their true labels.
  pgc_fullgrad_64.npy 2×64×64: FullGrad(model, []) output (min-max normalised) on the central 64×64 crop
      (rows and columns 80..143) of the first 2 shared inputs, labels 36 and 76: small inputs keep the fixture small.
"""
import argparse, json, os
import numpy as np, torch, torchvision
from pytorch_grad_cam import FullGrad
from pytorch_grad_cam.activations_and_gradients import ActivationsAndGradients
from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection

ap = argparse.ArgumentParser()
ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "test", "fixtures"))
args = ap.parse_args()
torch.set_num_threads(2)
model = torchvision.models.squeezenet1_1()
model.load_state_dict(torch.load(os.path.join(args.shared, "models", "squeezenet1_1.pth")))
model.eval()
for m in model.modules():
    if isinstance(m, torch.nn.ReLU):
        m.inplace = False
x = torch.from_numpy(np.load(os.path.join(args.shared, "reference", "inputs.npy"))[:8])
labels = json.load(open(os.path.join(args.shared, "reference", "peers", "info.json")))["labels"]

hooks = ActivationsAndGradients(model, [model.features[12]], None, True)
out = hooks(x)
model.zero_grad()
out[torch.arange(8), torch.tensor(labels)].sum().backward()
a = hooks.activations[0].numpy()
g = hooks.gradients[0].numpy()
hooks.release()
np.save(os.path.join(args.out, "pgc_eigengradcam_projection.npy"), get_2d_projection(g * a).astype(np.float32))

from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
crop = x[:2, :, 80:144, 80:144].contiguous()
cam = FullGrad(model=model, target_layers=[])
full = cam(input_tensor=crop, targets=[ClassifierOutputTarget(l) for l in labels[:2]])
np.save(os.path.join(args.out, "pgc_fullgrad_64.npy"), full.astype(np.float32))
print("wrote", args.out)
