"""Scenes: objects placed on a table, drawn in layer order, and their exact boxes.

Boxes are computed from the drawn silhouettes (cup handles included), clipped to
the image, in pixel-edge coordinates ``[x1, y1, x2, y2]`` (``x2`` exclusive). They
are amodal: an object partly covered by a later one keeps its full extent, but an
object of which less than ``MIN_VISIBLE`` of its area is visible (covered by
later objects or cut by the image edge) is left unannotated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from autolearn.datasets.samples.tableware.draw import (
    SS,
    TableObject,
    _draw,
    _random_look,
    _shadow,
)
from autolearn.datasets.samples.tableware.table import _effects, _table

CATEGORIES: tuple[str, ...] = ("plate", "bowl", "cup", "saucer")  # COCO ids 1..4
MIN_VISIBLE = 0.3  # an object less visible than this is not annotated
# radius range, as a fraction of the scene unit (about the image height)
_RADIUS = dict(plate=(0.17, 0.29), bowl=(0.09, 0.15), cup=(0.055, 0.085), saucer=(0.1, 0.14))
_LAYER = dict(napkin=-2, cutlery=-1, plate=0, saucer=0, bowl=1, cup=2, fruit=3)  # drawing order


@dataclass
class Rendered:
    """A rendered scene: ``annotations`` kept, ``dropped`` too hidden (or off the image).

    Both carry ``visible`` (the object's visible fraction) and ``index`` (into ``objects``).
    """

    image: Image.Image
    annotations: list[dict[str, Any]]
    dropped: list[dict[str, Any]]
    objects: list[TableObject]


def _compose(rng: np.random.Generator, width: int, height: int) -> list[TableObject]:
    """Random objects placed with limited overlap; cups often on saucers; drawing order."""
    unit = min(width, height) * rng.uniform(0.85, 1.2)  # camera height
    squash = rng.uniform(0.88, 1.0)
    placed: list[tuple[float, float, float]] = []  # footprints (cx, cy, radius)
    objs: list[TableObject] = []

    def place(foot: float) -> tuple[float, float] | None:
        tol = rng.uniform(0.6, 0.95)
        for _ in range(30):
            cx = rng.uniform(-0.1 * foot, width + 0.1 * foot)
            cy = rng.uniform(-0.1 * foot, height + 0.1 * foot)
            if all(math.hypot(cx - x, (cy - y) / squash) >= (foot + f) * tol for x, y, f in placed):
                placed.append((cx, cy, foot))
                return cx, cy
        return None

    for _ in range(int(rng.integers(3, 9))):
        label = CATEGORIES[int(rng.choice(4, p=[0.3, 0.25, 0.3, 0.15]))]
        r = unit * rng.uniform(*_RADIUS[label])
        plates = [o for o in objs if o.label == "plate" and o.r > 1.8 * r]
        if label in ("bowl", "cup") and plates and rng.random() < 0.15:  # stacked on a plate
            p = plates[int(rng.integers(len(plates)))]
            a, off = rng.uniform(0, 2 * math.pi), rng.uniform(0, 0.4) * (p.r - r)
            objs.append(
                TableObject(
                    label,
                    p.cx + off * math.cos(a),
                    p.cy + off * math.sin(a),
                    r,
                    squash,
                    rng.uniform(0, 2 * math.pi),
                )
            )
            continue
        saucer = label == "cup" and rng.random() < 0.55
        rs = r * rng.uniform(1.65, 1.95)
        pos = place(rs if saucer else r * (1.25 if label == "cup" else 1.0))
        if pos is None:
            continue
        if saucer:
            objs.append(TableObject("saucer", pos[0], pos[1], rs, squash))
            pos = (pos[0] + rng.normal(0, 0.04 * rs), pos[1] + rng.normal(0, 0.04 * rs))
        objs.append(TableObject(label, pos[0], pos[1], r, squash, rng.uniform(0, 2 * math.pi)))
    for _ in range(int(rng.choice(4, p=[0.3, 0.3, 0.25, 0.15]))):  # unlabelled distractors
        x, y, a, kind = (
            rng.uniform(0, width),
            rng.uniform(0, height),
            rng.uniform(0, 6.3),
            rng.random(),
        )
        if kind < 0.25:
            look = {"aspect": rng.uniform(0.6, 1.0)}
            objs.append(TableObject("napkin", x, y, unit * rng.uniform(0.12, 0.2), 1.0, a, look))
        elif kind < 0.75:
            objs.append(TableObject("cutlery", x, y, unit * rng.uniform(0.16, 0.22), 1.0, a))
        else:
            objs.append(TableObject("fruit", x, y, unit * rng.uniform(0.045, 0.08), squash))
    return sorted(objs, key=lambda o: _LAYER[o.label])


def _render(
    rng: np.random.Generator,
    width: int,
    height: int,
    *,
    objects: list[TableObject] | None = None,
    background: str | None = None,
    shadows: bool = True,
    effects: bool = True,
) -> Rendered:
    """Draw a scene (random unless ``objects`` given; ``background`` a kind or an RGB
    colour string like ``"#ff00ff"``); objects are drawn in list order."""
    canvas = _table(rng, width, height, background)
    objs = _compose(rng, width, height) if objects is None else objects
    phi = rng.uniform(0, 2 * math.pi)
    light = (math.cos(phi), math.sin(phi))  # towards the light
    strength = rng.uniform(0.3, 0.5)
    cw, ch = width * SS, height * SS
    labels = np.zeros((ch, cw), dtype=np.int32)  # index + 1 of the object seen at each pixel
    areas: list[int] = []
    boxes: list[list[int] | None] = []
    for idx, obj in enumerate(objs, start=1):
        obj.look = {**_random_look(rng, obj.label), **obj.look}
        patch, sil, x0, y0 = _draw(obj, light, rng)
        if shadows:
            _shadow(canvas, obj, patch, sil, x0, y0, light, strength)
        canvas.paste(patch, (x0, y0), Image.fromarray(sil.astype(np.uint8) * 255))
        areas.append(int(sil.sum()))
        ax0, ay0 = max(x0, 0), max(y0, 0)
        ax1, ay1 = min(x0 + sil.shape[1], cw), min(y0 + sil.shape[0], ch)
        box = None
        if ax1 > ax0 and ay1 > ay0:
            part = sil[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0]
            labels[ay0:ay1, ax0:ax1][part] = idx
            cols, rows = np.flatnonzero(part.any(axis=0)), np.flatnonzero(part.any(axis=1))
            if cols.size:
                box = [
                    (ax0 + int(cols[0])) // SS,
                    (ay0 + int(rows[0])) // SS,
                    (ax0 + int(cols[-1])) // SS + 1,
                    (ay0 + int(rows[-1])) // SS + 1,
                ]
        boxes.append(box)
    seen = np.bincount(labels.ravel(), minlength=len(objs) + 1)
    kept: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    for idx, obj in enumerate(objs, start=1):
        if obj.label not in CATEGORIES:
            continue
        vis = float(seen[idx]) / max(areas[idx - 1], 1)
        box = boxes[idx - 1]
        ok = box is not None and vis >= MIN_VISIBLE and min(box[2] - box[0], box[3] - box[1]) >= 2
        ann = {"label": obj.label, "bbox": box, "visible": vis, "index": idx - 1}
        (kept if ok else dropped).append(ann)
    image = canvas.reduce(SS)
    if effects:
        image = _effects(rng, image, light)
    return Rendered(image, kept, dropped, objs)
