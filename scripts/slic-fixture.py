"""Records scikit-image's SLIC labels of the first 8 shared test images, for test/perturbation.test.ts.

Run from the repository root:  /usr/bin/python3 scripts/slic-fixture.py   (scikit-image 0.19.3, numpy 1.24)

Each image of ../shared/reference/inputs.npy is de-normalised with ImageNet's mean and std (in float64, as netvis's
featureMasks does), clipped to [0, 1], stored as float32, then segmented by skimage.segmentation.slic with its defaults
(n_segments=100, compactness=10) and start_label=0: the default features of netvis's KernelSHAP and LIME. Writes
test/fixtures/slic-skimage.json: per image the number of superpixels and the SHA-256 of the labels as little-endian
int32, H×W row-major (the labels themselves would be 1.6 MB).
"""
import hashlib
import json
import os

import numpy as np
import skimage
from skimage.segmentation import slic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])

inputs = np.load(os.path.join(ROOT, '..', 'shared', 'reference', 'inputs.npy'))[:8]
counts, sha256 = [], []
for x in inputs:
    rgb = np.clip(x.transpose(1, 2, 0) * STD + MEAN, 0, 1).astype(np.float32)
    labels = slic(rgb.astype(np.float64), start_label=0).astype('<i4')
    counts.append(int(labels.max()) + 1)
    sha256.append(hashlib.sha256(labels.tobytes()).hexdigest())
with open(os.path.join(ROOT, 'test', 'fixtures', 'slic-skimage.json'), 'w') as f:
    json.dump({'skimage': skimage.__version__, 'counts': counts, 'sha256': sha256}, f, indent=2)
    f.write('\n')
print(counts)
