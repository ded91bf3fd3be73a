#!/usr/bin/env python3
"""Export a torchvision ImageNet classifier to ONNX for netvis, with its labels and a sidecar.

usage: python3 scripts/export-torchvision.py [MODEL] [--out DIR] [--weights FILE.pth] [--opset 17]

MODEL is a torchvision.models name (default squeezenet1_1). Weights come from --weights (a state_dict
file) or else torchvision's pretrained weights (which need network access, or torch's hub cache).
Writes DIR/MODEL.onnx (input `input` N×3×H×W with dynamic N/H/W, output `logits`), DIR/MODEL.json
(preprocessing and labels file) and DIR/imagenet_classes.json. Needs PyTorch and torchvision
(Debian: apt-get install -y python3-torch python3-torchvision). netvis finds DIR/MODEL.onnx when DIR
is ~/.cache/netvis or $NETVIS_MODEL_DIR, or with --model DIR/MODEL.onnx.
"""
import argparse
import json
import os
import sys


def imagenet_classes(torchvision):
    """The 1000 ImageNet classes in output order as [{"wnid", "names"}], from torchvision's metadata."""
    try:
        from torchvision.models import get_weight

        names = get_weight("SqueezeNet1_1_Weights.IMAGENET1K_V1").meta["categories"]
    except Exception:  # older torchvision: no weight metadata
        names = None
    if names is None:
        sys.exit("this torchvision has no ImageNet category metadata; pass --labels FILE to netvis instead")
    return [{"names": [n]} for n in names]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?", default="squeezenet1_1")
    ap.add_argument("--out", default=os.path.expanduser("~/.cache/netvis"))
    ap.add_argument("--weights", help="state_dict .pth file (default: torchvision's pretrained weights)")
    ap.add_argument("--opset", type=int, default=17)
    args = ap.parse_args()
    try:
        import torch
        import torchvision
    except ImportError:
        sys.exit("PyTorch and torchvision are needed: apt-get install -y python3-torch python3-torchvision")

    ctor = getattr(torchvision.models, args.model, None)
    if ctor is None:
        sys.exit(f"torchvision.models has no model named {args.model!r}")
    if args.weights:
        model = ctor()
        model.load_state_dict(torch.load(args.weights, map_location="cpu"))
    else:
        model = ctor(weights="DEFAULT")
    model.eval()

    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, f"{args.model}.onnx")
    tmp = onnx_path + ".tmp"
    torch.onnx.export(
        model,
        torch.randn(1, 3, 224, 224),
        tmp,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "N", 2: "H", 3: "W"}, "logits": {0: "N"}},
        opset_version=args.opset,
        do_constant_folding=True,
    )
    os.replace(tmp, onnx_path)
    labels_path = os.path.join(args.out, "imagenet_classes.json")
    if not os.path.exists(labels_path):
        with open(labels_path, "w") as f:
            json.dump(imagenet_classes(torchvision), f, indent=1)
    with open(os.path.join(args.out, f"{args.model}.json"), "w") as f:
        json.dump(
            {
                "labels": "imagenet_classes.json",
                "preprocessing": {"resize": 256, "crop": 224, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
                "input": "input",
                "output": "logits",
            },
            f,
            indent=1,
        )
    print(f"wrote {onnx_path}")


if __name__ == "__main__":
    main()
