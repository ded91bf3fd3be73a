#!/usr/bin/python3
"""Zennit references on a tiny network with what SqueezeNet lacks (BatchNorm to merge, dense layers, an average pool,
a residual sum), for test/relevance.test.ts: every LRP rule netvis compiles, against Zennit's own.

usage: PYTHONPATH=ZENNIT/src /usr/bin/python3 scripts/zennit-fixtures.py [--out test/fixtures/lrp-tiny]

Peer: chr5tphr/zennit 0.5.1 (3121bb223061506834ca68abad3eefc792dea999), PyTorch 1.13 (Debian).
Network (random weights and BatchNorm statistics, seed 0, .eval()):
  a = relu1(bn1(conv1(x)))  conv1 3->6, 3x3, padding 1
  b = relu2(bn2(conv2(a)))  conv2 6->6, 3x3, padding 1
  s = a + b                 (Zennit: zennit.layer.Sum over the stacked pair, as its ResNet canonizer writes it)
  y = fc2(relu3(fc1(flatten(avgpool(s)))))  AvgPool2d(2), fc1 96->10, fc2 10->5
Writes (float32 .npy unless said):
  model.onnx     the network (x: N×3×8×8 -> logits: N×5), opset 17, BatchNormalization kept as nodes
  input.npy      2×3×8×8 inputs, uniform in [-1, 1)
  <name>.npy     2×3×8×8 relevance, output relevance one-hot at classes [1, 3], with canonizers=[SequentialMergeBatchNorm()]:
    epsilon_plus_flat       EpsilonPlusFlat()
    epsilon_gamma_box       EpsilonGammaBox(low=-1, high=1)
    epsilon_alpha2_beta1    EpsilonAlpha2Beta1()
    by_name                 NameLayerMapComposite: conv1 WSquare, conv2 Epsilon(0.01), fc1 ZPlus, fc2 AlphaBeta(2, 1);
                            activations Pass, average pool and sum Norm
"""
import argparse, os
import numpy as np, torch
from torch import nn
from zennit.attribution import Gradient
from zennit.canonizers import SequentialMergeBatchNorm
from zennit.composites import EpsilonAlpha2Beta1, EpsilonGammaBox, EpsilonPlusFlat, NameLayerMapComposite
from zennit.layer import Sum
from zennit.rules import AlphaBeta, Epsilon, Norm, Pass, WSquare, ZPlus
from zennit.types import Activation, AvgPool

ap = argparse.ArgumentParser()
ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "lrp-tiny"))
args = ap.parse_args()
os.makedirs(args.out, exist_ok=True)
torch.manual_seed(0)


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.bn1, self.relu1 = nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU()
        self.conv2, self.bn2, self.relu2 = nn.Conv2d(6, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU()
        self.sum = Sum()
        self.pool = nn.AvgPool2d(2)
        self.fc1, self.relu3, self.fc2 = nn.Linear(96, 10), nn.ReLU(), nn.Linear(10, 5)
        self.export = False

    def forward(self, x):
        a = self.relu1(self.bn1(self.conv1(x)))
        b = self.relu2(self.bn2(self.conv2(a)))
        s = a + b if self.export else self.sum(torch.stack([a, b], dim=-1))
        return self.fc2(self.relu3(self.fc1(torch.flatten(self.pool(s), 1))))


model = Tiny()
for bn in (model.bn1, model.bn2):
    bn.running_mean.uniform_(-0.5, 0.5)
    bn.running_var.uniform_(0.5, 2.0)
    bn.weight.data.uniform_(0.5, 1.5)
    bn.bias.data.uniform_(-0.2, 0.2)
model.eval()
x = torch.rand(2, 3, 8, 8) * 2 - 1
np.save(os.path.join(args.out, "input.npy"), x.numpy())

model.export = True
torch.onnx.export(
    model, x, os.path.join(args.out, "model.onnx"), input_names=["x"], output_names=["logits"],
    opset_version=17, do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE, dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}},
)
model.export = False

composites = {
    "epsilon_plus_flat": EpsilonPlusFlat(canonizers=[SequentialMergeBatchNorm()]),
    "epsilon_gamma_box": EpsilonGammaBox(low=-1.0, high=1.0, canonizers=[SequentialMergeBatchNorm()]),
    "epsilon_alpha2_beta1": EpsilonAlpha2Beta1(canonizers=[SequentialMergeBatchNorm()]),
    "by_name": NameLayerMapComposite(
        name_map=[
            (["conv1"], WSquare()),
            (["conv2"], Epsilon(epsilon=0.01)),
            (["fc1"], ZPlus()),
            (["fc2"], AlphaBeta(alpha=2, beta=1)),
        ],
        layer_map=[(Activation, Pass()), (AvgPool, Norm()), (Sum, Norm())],
        canonizers=[SequentialMergeBatchNorm()],
    ),
}
relevance_out = torch.eye(5)[[1, 3]]
for name, composite in composites.items():
    with Gradient(model=model, composite=composite) as attributor:
        _, relevance = attributor(x, relevance_out)
    np.save(os.path.join(args.out, f"{name}.npy"), relevance.detach().numpy().astype(np.float32))
    print(name, "relevance sums", relevance.sum((1, 2, 3)).tolist())
