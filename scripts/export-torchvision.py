#!/usr/bin/env python3
"""Export a torchvision ImageNet classifier to ONNX for netvis, with its sidecar and labels.

usage: python3 scripts/export-torchvision.py MODEL [--out DIR] (--weights FILE.pth | --random-weights | --pretrained)
                                             [--opset 17] [--batch N]

MODEL is any classifier in torchvision.models: the CNNs (resnet50, mobilenet_v3_large, efficientnet_b0, ...), the
ViTs (vit_b_16, ...), the Swins (swin_t, ...) and the ConvNeXts (convnext_tiny, ...); `--list` prints them.
Weights come from a state_dict file (--weights), torchvision's pretrained weights (--pretrained: needs network access
or torch's hub cache), or a seeded random initialisation (--random-weights: for tests and benchmarks, whose numbers
then mean nothing about the real model).

Writes DIR/MODEL.onnx (input `input` N×3×H×W, N dynamic unless --batch; H and W dynamic for the CNNs, fixed at the crop
size for the transformers, whose position embeddings and windows need it; output `logits` N×1000), DIR/MODEL.json
(torchvision's preprocessing for these weights, labels file, input, output) and DIR/imagenet_classes.json (netvis's
ImageNet labels, in torchvision's class order). netvis finds DIR/MODEL.onnx by name when DIR is its cache
(~/.cache/netvis, the default here) or $NETVIS_MODEL_DIR; `netvis models info MODEL` shows what it makes of it.
Needs PyTorch and torchvision (Debian: apt-get install -y python3-torch python3-torchvision).
"""
import argparse
import json
import os
import shutil
import sys

# Families whose graphs fix H and W (position embeddings, attention windows).
FIXED_SIZE = ("vit_", "swin_", "maxvit_")
LABELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "imagenet_classes.json")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?", help="a torchvision.models classifier name")
    ap.add_argument("--out", default=os.path.join(os.path.expanduser("~"), ".cache", "netvis"))
    weights = ap.add_mutually_exclusive_group()
    weights.add_argument("--weights", help="state_dict .pth file")
    weights.add_argument("--random-weights", action="store_true", help="seeded random weights (tests, benchmarks)")
    weights.add_argument("--pretrained", action="store_true", help="torchvision's pretrained weights (downloads)")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--batch", type=int, help="fix the batch size (default: dynamic)")
    ap.add_argument("--list", action="store_true", help="list the classifiers torchvision has")
    args = ap.parse_args()
    try:
        import torch
        import torchvision
        from torchvision.models import get_model_weights, list_models
    except ImportError:
        sys.exit("PyTorch and torchvision (0.14 or later) are needed: apt-get install -y python3-torch python3-torchvision")

    classifiers = sorted(list_models(module=torchvision.models))
    if args.list:
        print("\n".join(classifiers))
        return
    if args.model not in classifiers:
        sys.exit(f"torchvision.models has no classifier named {args.model!r} (see --list)")
    if not (args.weights or args.random_weights or args.pretrained):
        sys.exit("give --weights FILE.pth, --pretrained (downloads) or --random-weights (tests only)")

    ctor = getattr(torchvision.models, args.model)
    default = get_model_weights(args.model).DEFAULT
    if args.pretrained:
        model = ctor(weights=default)
    else:
        torch.manual_seed(0)
        model = ctor(weights=None)
        if args.weights:
            model.load_state_dict(torch.load(args.weights, map_location="cpu"))
    model.eval()

    transforms = default.transforms()
    crop, resize = transforms.crop_size[0], transforms.resize_size[0]
    interpolation = str(transforms.interpolation.value)
    fixed = args.model.startswith(FIXED_SIZE)
    axes = {0: "N"} if not args.batch else {}
    if not fixed:
        axes.update({2: "H", 3: "W"})

    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, f"{args.model}.onnx")
    tmp = onnx_path + ".tmp"
    with torch.no_grad():
        torch.onnx.export(
            model,
            torch.randn(args.batch or 1, 3, crop, crop),
            tmp,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": axes, "logits": {0: "N"} if not args.batch else {}},
            opset_version=args.opset,
            do_constant_folding=True,
        )
    os.replace(tmp, onnx_path)
    labels_path = os.path.join(args.out, "imagenet_classes.json")
    if not os.path.exists(labels_path):
        shutil.copyfile(LABELS, labels_path)
    sidecar = {
        "labels": "imagenet_classes.json",
        "preprocessing": {"resize": resize, "crop": crop, "mean": list(transforms.mean), "std": list(transforms.std)},
        "input": "input",
        "output": "logits",
        "layout": "NCHW",
    }
    with open(os.path.join(args.out, f"{args.model}.json"), "w") as f:
        json.dump(sidecar, f, indent=2)
        f.write("\n")
    source = "random weights (seed 0)" if args.random_weights else args.weights or str(default)
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.1f} MB; weights: {source}; resize {resize}, crop {crop})")
    if interpolation != "bilinear":
        print(
            f"note: these weights were evaluated with {interpolation} resizing; netvis resizes bilinearly, "
            "which can move accuracy slightly"
        )


if __name__ == "__main__":
    main()
