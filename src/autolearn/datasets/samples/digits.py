"""scikit-learn's handwritten digits (1,797 real 8×8 scans), as 64×64 RGB PNGs.

The data ships inside scikit-learn, so the sample builds offline. Pixel values
0..16 are scaled to 0..255, upscaled with bicubic resampling and written as
``<dest>/digits/<digit>/<index>.png``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from autolearn.datasets.samples import SampleSpec

SIZE = 64


def build(dest: Path) -> Path:
    """Write the ImageFolder under ``dest/digits`` and return that folder."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = np.asarray(data.images, dtype=np.float64)
    targets = np.asarray(data.target)
    root = Path(dest) / "digits"
    for digit in range(10):
        (root / str(digit)).mkdir(parents=True, exist_ok=True)
    pixels = np.clip(np.rint(images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    for idx, (img, target) in enumerate(zip(pixels, targets, strict=True)):
        big = Image.fromarray(img).resize((SIZE, SIZE), Image.Resampling.BICUBIC)
        big.convert("RGB").save(root / str(int(target)) / f"{idx:04d}.png", format="PNG")
    return root


SPEC = SampleSpec(
    name="digits",
    description="handwritten digits 0-9 (scikit-learn, 1,797 images, 64x64, 10 classes)",
    scenario="classification",
    build=build,
)
