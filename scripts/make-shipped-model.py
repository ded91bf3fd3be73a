#!/usr/bin/env python3
"""Write models/squeezenet1_1.onnx, the model netvis ships: ../shared/models/squeezenet1_1.onnx with every float32
initializer that float16 holds exactly stored as float16 (half the size), each widened by a Cast node so the file
stays a valid float32 model.

The shared weights already passed through float16 (see ../shared/models/README.md): all 1,231,552 convolution weights
survive float32 -> float16 -> float32 unchanged and are stored as float16; the 3,944 biases do not and stay float32.
netvis folds the Casts at load (src/onnx/float16.ts), which gives back the shared model's initializers bit for bit
(test/shipped.test.ts checks).

usage: /usr/bin/python3 scripts/make-shipped-model.py [--shared ../shared/models] [--out models]
Needs numpy and onnx (Debian: python3-numpy, python3-onnx).
"""
import argparse
import hashlib
import os

import numpy as np
import onnx
from onnx import helper, numpy_helper


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "models"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "models"))
    args = ap.parse_args()
    model = onnx.load(os.path.join(args.shared, "squeezenet1_1.onnx"))
    graph = model.graph
    casts = []
    halves = []
    for init in graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            halves.append(init)
            continue
        values = numpy_helper.to_array(init)
        half = values.astype(np.float16)
        if not np.array_equal(half.astype(np.float32), values):
            halves.append(init)
            continue
        stored = numpy_helper.from_array(half, f"{init.name}.float16")
        halves.append(stored)
        casts.append(helper.make_node("Cast", [stored.name], [init.name], name=f"widen {init.name}", to=onnx.TensorProto.FLOAT))
    del graph.initializer[:]
    graph.initializer.extend(halves)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    model.doc_string = (
        "SqueezeNet 1.1, torchvision's ImageNet weights (BSD-3-Clause), stored as float16 and widened by Cast nodes; "
        "made by netvis's scripts/make-shipped-model.py from its float32 export"
    )
    onnx.checker.check_model(model)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "squeezenet1_1.onnx")
    data = model.SerializeToString()
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)
    print(f"wrote {path}: {len(data)} bytes, {len(casts)} float16 initializers ({sum(int(np.prod(h.dims)) for h in halves if h.data_type == onnx.TensorProto.FLOAT16)} values), sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
