"""Procedural top-down table scenes (plates, bowls, cups, saucers) with exact boxes, as COCO.

Every scene is drawn from one ``numpy.random.Generator`` with Pillow only, so the
same seed gives the same bytes. A scene is: a textured table or tray (wood grain,
gingham / checked / striped cloth, plain cloth with mottling, a cafeteria tray on a
dark table), unlabelled distractors (napkins, cutlery, fruit), then the labelled objects
seen from above, each with a soft drop shadow: plates (rim, optional coloured or
dotted rim pattern, inner well, food), bowls (rim highlight, concave shading,
sometimes soup or yogurt), cups (handle, dark liquid or empty) and saucers (often
under a cup, so both boxes are present and overlap). Objects are drawn at 2x and
box-filtered down (anti-aliased edges), then the whole image gets a lighting
gradient, vignette, white-balance tint, noise and sometimes a slight blur.

The package: ``draw`` (objects, shadows, colours), ``table`` (table textures, lighting),
``scene`` (composition, occlusion, and how boxes are computed) and, here, the COCO
dataset writer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from autolearn.datasets.samples import SampleSpec
from autolearn.datasets.samples.tableware.draw import SS, Color, TableObject
from autolearn.datasets.samples.tableware.scene import (
    CATEGORIES,
    MIN_VISIBLE,
    Rendered,
    _render,
)
from autolearn.datasets.samples.tableware.table import BACKGROUNDS


def generate_scene(
    rng: np.random.Generator, width: int, height: int
) -> tuple[Image.Image, list[dict[str, Any]]]:
    """One random scene: the RGB image and its boxes ``{"label", "bbox": [x1, y1, x2, y2]}``."""
    r = _render(rng, width, height)
    return r.image, [{"label": a["label"], "bbox": a["bbox"]} for a in r.annotations]


def _image_size(rng: np.random.Generator, size: tuple[int, int], vary: bool) -> tuple[int, int]:
    if not vary:
        return size
    k = rng.uniform(0.9, 1.2)
    return int(round(size[0] * k / 8) * 8), int(
        round(size[1] * k * rng.uniform(0.97, 1.03) / 8) * 8
    )


def build(
    dest: Path,
    n_images: int = 200,
    seed: int = 0,
    size: tuple[int, int] = (320, 240),
    vary_size: bool = True,
) -> Path:
    """Write ``dest/tableware/{images/*.jpg, annotations/instances.json}`` (COCO); return it.

    Image ``i`` depends only on ``(seed, i)``. With ``vary_size`` each image is about
    0.9-1.2x ``size`` (multiples of 8, aspect within 3 %), as photos from different
    cameras are; otherwise every image is exactly ``size``. Files already under
    ``dest/tableware`` are overwritten, not removed: build into a fresh folder.
    """
    root = Path(dest) / "tableware"
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    cat_id = {name: i for i, name in enumerate(CATEGORIES, start=1)}
    images: list[dict[str, Any]] = []
    anns: list[dict[str, Any]] = []
    for i in range(n_images):
        rng = np.random.default_rng([seed, i])
        w, h = _image_size(rng, size, vary_size)
        img, boxes = generate_scene(rng, w, h)
        name = f"{i:06d}.jpg"
        img.save(root / "images" / name, format="JPEG", quality=90, subsampling="4:2:0")
        images.append({"id": i + 1, "file_name": name, "width": w, "height": h})
        for b in boxes:
            x1, y1, x2, y2 = b["bbox"]
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i + 1,
                    "category_id": cat_id[b["label"]],
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": 0,
                }
            )
    coco = {
        "info": {
            "description": "autolearn tableware sample (procedural)",
            "version": "1",
            "seed": seed,
            "n_images": n_images,
        },
        "licenses": [],
        "images": images,
        "annotations": anns,
        "categories": [
            {"id": i, "name": n, "supercategory": "tableware"} for n, i in cat_id.items()
        ],
    }
    (root / "annotations" / "instances.json").write_text(
        json.dumps(coco, indent=1) + "\n", encoding="utf-8"
    )
    return root


SPEC = SampleSpec(
    name="tableware",
    description="procedural top-down table scenes, 200 images ~320x240, COCO boxes for "
    "plate, bowl, cup, saucer (offline stand-in for cafeteria tray photos)",
    scenario="detection",
    build=build,
)


__all__ = [
    "BACKGROUNDS",
    "CATEGORIES",
    "MIN_VISIBLE",
    "SPEC",
    "SS",
    "Color",
    "Rendered",
    "TableObject",
    "build",
    "generate_scene",
]
