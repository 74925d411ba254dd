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

Boxes are computed from the drawn silhouettes (cup handles included), clipped to
the image, in pixel-edge coordinates ``[x1, y1, x2, y2]`` (``x2`` exclusive). They
are amodal: an object partly covered by a later one keeps its full extent, but an
object of which less than ``MIN_VISIBLE`` of its area is visible (covered by
later objects or cut by the image edge) is left unannotated.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from autolearn.datasets.samples import SampleSpec

CATEGORIES: tuple[str, ...] = ("plate", "bowl", "cup", "saucer")  # COCO ids 1..4
MIN_VISIBLE = 0.3  # an object less visible than this is not annotated
SS = 2  # supersampling factor of the object drawing
BACKGROUNDS: tuple[str, ...] = ("wood", "checked", "striped", "plain", "tray")
_BG_WEIGHTS = (0.25, 0.18, 0.12, 0.18, 0.27)

Color = tuple[int, int, int]


def _hex(colors: str) -> list[Color]:
    return [(int(c[:2], 16), int(c[2:4], 16), int(c[4:], 16)) for c in colors.split()]


_CERAMIC: list[Color] = _hex("f8f8f5 f4f1e9 f1e8d2 eceef1 d4e1f0 d4ead6 f3d9dd f6edc4 ceced2")
_CERAMIC_P = np.array([7, 4, 3, 3, 1, 1, 1, 1, 1], dtype=float) / 22
_STRONG: list[Color] = _hex("2e3860 28282c aa2e28 467052 be6c42 e1be46 6096be")
_RIM: list[Color] = _hex("287846 284a96 aa2828 be9c42 5a5a60 dc8c3c 4696aa")
_FOOD: list[Color] = _hex("ecd696 e8deb2 965c32 be3424 488234 e47a2a 78482e cc985c f5f0e1")
_LIQUID: list[Color] = _hex("422818 301d12 a0744e 96521e ec942a")
_SOUP: list[Color] = _hex("c85c34 f2f0ea e08e34 78963e ecdcaa")
# radius range, as a fraction of the scene unit (about the image height)
_RADIUS = dict(plate=(0.17, 0.29), bowl=(0.09, 0.15), cup=(0.055, 0.085), saucer=(0.1, 0.14))
_LAYER = dict(napkin=-2, cutlery=-1, plate=0, saucer=0, bowl=1, cup=2, fruit=3)  # drawing order
_HEIGHT = dict(  # shadow offset, as a fraction of the radius
    napkin=0.01, cutlery=0.03, plate=0.05, saucer=0.03, bowl=0.13, cup=0.16, fruit=0.3
)


@dataclass
class TableObject:
    """One thing on the table, in image pixels; ``label`` a category or a distractor
    (``napkin``, ``cutlery``, ``fruit``).

    ``r`` is the horizontal radius (cutlery: half the length), ``squash`` the vertical
    to horizontal ratio (camera tilt), ``angle`` the handle (cup) or long-axis direction
    (radians); ``look`` (colours, pattern, contents) is completed at random when drawn.
    """

    label: str
    cx: float
    cy: float
    r: float
    squash: float = 1.0
    angle: float = 0.0
    look: dict[str, Any] = field(default_factory=dict)


@dataclass
class Rendered:
    """A rendered scene: ``annotations`` kept, ``dropped`` too hidden (or off the image).

    Both carry ``visible`` (the object's visible fraction) and ``index`` (into ``objects``).
    """

    image: Image.Image
    annotations: list[dict[str, Any]]
    dropped: list[dict[str, Any]]
    objects: list[TableObject]


def _c(c: Sequence[float] | np.ndarray, k: float = 1.0) -> Color:
    return (
        int(min(255, max(0, round(c[0] * k)))),
        int(min(255, max(0, round(c[1] * k)))),
        int(min(255, max(0, round(c[2] * k)))),
    )


def _pick(rng: np.random.Generator, colors: Sequence[Color], jitter: float = 6.0) -> Color:
    c = np.asarray(colors[int(rng.integers(len(colors)))], dtype=float)
    return _c(c + rng.normal(0.0, jitter, 3))


def _smooth(rng: np.random.Generator, h: int, w: int, cy: int, cx: int) -> np.ndarray:
    """Smooth noise in [0, 1] of shape (h, w) from a (cy, cx) grid of random values."""
    small = rng.random((max(cy, 2), max(cx, 2))).astype(np.float32)
    return np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC))


def _arr(c: Color) -> np.ndarray:
    return np.array(c, dtype=np.float32)


def _wave(t: np.ndarray, sharp: float = 3.0) -> np.ndarray:
    """Soft square wave in [0, 1] with period 2 (anti-aliased stripes)."""
    return 0.5 + 0.5 * np.tanh(sharp * np.sin(np.pi * t))


# --------------------------------------------------------------------------- backgrounds


def _background(rng: np.random.Generator, h: int, w: int, kind: str) -> np.ndarray:
    """An (h, w, 3) float32 table texture, 0..255."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    fine = rng.normal(0.0, 1.0, (h, w)).astype(np.float32)
    if kind == "wood":
        base = _arr(_pick(rng, _hex("c0966a 704c32 d6b280 a8a096 96643e"), 10))
        across = yy if rng.random() < 0.5 else xx  # grain runs along x or along y
        span = h if across is yy else w
        pw = span * rng.uniform(0.2, 0.45)
        plank_f = (across + rng.uniform(0, pw)) / pw
        plank = plank_f.astype(np.int32)
        n = int(plank.max()) + 1
        warp = _smooth(rng, h, w, 5, 5) * 3.0 + _smooth(rng, h, w, 12, 12) * 0.6
        t = across / rng.uniform(3.5, 8.0) + warp + rng.uniform(0, 9, n)[plank]
        rings = np.sin(2 * np.pi * t) ** 2
        streak_grid = (h // 2, 3) if across is yy else (3, w // 2)
        streak = _smooth(rng, h, w, *streak_grid)
        tint = (1.0 + rng.normal(0.0, 0.07, n))[plank]
        gain = (0.78 + 0.14 * rings + 0.14 * streak + 0.015 * fine) * tint
        gain = np.where(np.abs(plank_f - np.rint(plank_f)) * pw < 0.8, gain * 0.55, gain)
        return base * gain[..., None]
    if kind in ("checked", "striped"):
        white = _arr(_pick(rng, _hex("f4f2ec ece6d6"), 4))
        col = _arr(_pick(rng, _hex("ba282a 2c4c96 3e804a 28282c deb23c 78a0c8"), 10))
        th = rng.uniform(-0.4, 0.4) if rng.random() < 0.6 else 0.0
        u = xx * math.cos(th) + yy * math.sin(th)
        v = -xx * math.sin(th) + yy * math.cos(th)
        s = rng.uniform(6.0, 18.0)
        a = _wave(u / s + rng.uniform(0, 2))
        if kind == "striped":
            mix = a * rng.uniform(0.6, 1.0)
        else:
            b = _wave(v / s + rng.uniform(0, 2))
            mix = (a + b) / 2 if rng.random() < 0.6 else a + b - 2 * a * b  # gingham or checks
        weave = 1 + 0.035 * np.sin(np.pi * u * 1.3) * np.sin(np.pi * v * 1.3) + 0.03 * fine
        folds = 0.93 + 0.14 * _smooth(rng, h, w, 4, 4)
        img = white * (1 - mix[..., None]) + col * mix[..., None]
        return img * (weave * folds)[..., None]
    if kind == "plain":
        base = _arr(_pick(rng, _hex("e2d8c4 eeeeea 96989c 3a3e44 baccda c8baa0"), 8))
        mottle = 0.92 + 0.16 * _smooth(rng, h, w, 6, 8) + 0.04 * _smooth(rng, h, w, 30, 40)
        return base * (mottle + 0.025 * fine)[..., None]
    # a cafeteria tray (rounded, with a lip) on a dark table
    table = _arr(_pick(rng, _hex("28282a 403c3a 1e2228"), 6))
    tray = _arr(_pick(rng, _hex("c4c8cc b8c0c8 967050 383a3e d2ccc0"), 8))
    m = rng.uniform(-0.06, 0.12, 4) * np.array([w, h, w, h])
    hx, hy = (w - m[0] - m[2]) / 2, (h - m[1] - m[3]) / 2
    rr = min(w, h) * rng.uniform(0.05, 0.12)
    qx = np.maximum(np.abs(xx - (m[0] + hx)) - (hx - rr), 0)
    qy = np.maximum(np.abs(yy - (m[1] + hy)) - (hy - rr), 0)
    dist = np.sqrt(qx * qx + qy * qy) - rr  # < 0 inside the tray
    lip = min(w, h) * rng.uniform(0.025, 0.045)
    speck = (rng.random((h, w)) < 0.05).astype(np.float32)
    surface = 1.0 - 0.1 * speck + 0.03 * fine + 0.08 * (_smooth(rng, h, w, 5, 6) - 0.5)
    edge = np.clip((dist + lip) / 1.2, 0, 1)  # 0 on the mat, 1 on the lip
    mat = tray[None, None, :] * (surface * (1 - 0.2 * edge))[..., None]
    outside = np.clip(dist / 1.2 + 0.5, 0, 1)[..., None]
    table_px = table * (1 + 0.04 * fine)[..., None]
    return mat * (1 - outside) + table_px * outside


# --------------------------------------------------------------------------- objects


def _random_look(rng: np.random.Generator, label: str) -> dict[str, Any]:
    strong = label in ("bowl", "cup") and rng.random() < 0.25
    look: dict[str, Any] = {
        "base": _pick(rng, _STRONG, 8)
        if strong
        else _c(
            np.asarray(_CERAMIC[int(rng.choice(len(_CERAMIC), p=_CERAMIC_P))]) + rng.normal(0, 3, 3)
        )
    }
    if label in ("plate", "saucer"):
        look["rim"] = ("none", "band", "line", "dots")[int(rng.choice(4, p=[0.4, 0.25, 0.2, 0.15]))]
        look["rim_color"] = _pick(rng, _RIM, 10)
        look["well"] = rng.uniform(0.62, 0.74) if label == "plate" else rng.uniform(0.42, 0.52)
        look["food"] = label == "plate" and rng.random() < 0.65
    elif label == "bowl":
        look["fill"] = _pick(rng, _SOUP, 8) if rng.random() < 0.55 else None
    elif label == "cup":
        look["fill"] = _pick(rng, _LIQUID, 6) if rng.random() < 0.65 else None
    elif label == "fruit":  # orange, apples, lemon, bread roll
        look["base"] = _pick(rng, _hex("e8892a b42a28 8cb43c e6d24a c48c50"), 8)
    else:  # napkin, cutlery
        look["base"] = _pick(rng, _hex("f6f6f4 ece2cc c42830 3c5a96"))
        look["metal"] = _pick(rng, _hex("c0c2c6 aaacb2"), 4)
        look["kind"] = ("knife", "fork", "spoon")[int(rng.integers(3))]
    return look


def _flat_shape(obj: TableObject, d: ImageDraw.ImageDraw, ox: float, oy: float, fill: int) -> None:
    """Silhouette of napkins and cutlery (long axis ``obj.angle``, half-length ``obj.r``)."""
    ca, sa = math.cos(obj.angle), math.sin(obj.angle)

    def bar(t0: float, t1: float, half_w: float) -> list[tuple[float, float]]:
        pts = [(t0, -half_w), (t1, -half_w), (t1, half_w), (t0, half_w)]
        return [(ox + (a * ca - b * sa) * SS, oy + (a * sa + b * ca) * SS) for a, b in pts]

    r = obj.r
    if obj.label == "napkin":
        d.polygon(bar(-r, r, r * obj.look.get("aspect", 0.8)), fill=fill)
        return
    d.polygon(bar(-r, 0.15 * r, 0.055 * r), fill=fill)
    kind = obj.look["kind"]
    if kind == "knife":
        d.polygon(bar(0.1 * r, r, 0.045 * r), fill=fill)
    else:
        hw, t0 = (0.11, 0.55) if kind == "fork" else (0.14, 0.6)
        d.polygon(bar(0.1 * r, t0 * r, 0.03 * r), fill=fill)
        if kind == "fork":
            d.polygon(bar(t0 * r, r, hw * r), fill=fill)
        else:
            cx, cy = ox + (0.8 * r) * ca * SS, oy + (0.8 * r) * sa * SS
            e = max(abs(ca) * 0.22 + abs(sa) * hw, abs(sa) * 0.22 + abs(ca) * hw) * r * SS
            d.ellipse([cx - e, cy - e, cx + e, cy + e], fill=fill)


def _draw(
    obj: TableObject, light: tuple[float, float], rng: np.random.Generator
) -> tuple[Image.Image, np.ndarray, int, int]:
    """``obj`` drawn at SS scale: (RGB patch, boolean silhouette, x0, y0 of the patch)."""
    rx = obj.r * SS
    ry = rx * obj.squash
    ext = rx * (1.5 if obj.label == "cup" else 1.45 if obj.label == "napkin" else 1.0) + 3
    x0, y0 = math.floor(obj.cx * SS - ext), math.floor(obj.cy * SS - ext)
    size = math.ceil(2 * ext) + 2
    lx, ly = obj.cx * SS - x0, obj.cy * SS - y0
    look = obj.look
    base = look["base"]
    mask = Image.new("L", (size, size), 0)
    md = ImageDraw.Draw(mask)
    rgb = Image.new("RGB", (size, size), base)
    d = ImageDraw.Draw(rgb)
    shade = Image.new("L", (size, size), 128)
    sd = ImageDraw.Draw(shade)

    def ell(
        dr: ImageDraw.ImageDraw,
        k: float,
        fill: Any,
        dx: float = 0.0,
        dy: float = 0.0,
        outline: int | None = None,
        width: int = 1,
    ) -> None:
        box = [lx + dx - rx * k, ly + dy - ry * k, lx + dx + rx * k, ly + dy + ry * k]
        dr.ellipse(box, fill=fill, outline=outline, width=width)

    px = max(1, round(0.035 * rx))
    if obj.label in ("napkin", "cutlery"):
        _flat_shape(obj, md, lx, ly, 255)
        if obj.label == "cutlery":
            rgb.paste(look["metal"], (0, 0, size, size))
            ca, sa = math.cos(obj.angle), math.sin(obj.angle)
            sd.line(
                [(lx - rx * ca, ly - rx * sa), (lx + rx * ca, ly + rx * sa)], fill=165, width=SS
            )
        else:
            sd.line(
                [(lx - rx * math.cos(obj.angle), ly - rx * math.sin(obj.angle)), (lx, ly)],
                fill=118,
                width=SS,
            )  # a fold
    elif obj.label == "fruit":
        ell(md, 1.0, 255)
        for k, v in ((0.45, 138), (0.25, 152)):  # soft highlight towards the light
            ell(sd, k, v, dx=0.4 * rx * light[0], dy=0.4 * ry * light[1])
    elif obj.label in ("plate", "saucer"):
        ell(md, 1.0, 255)
        rim, rc = look["rim"], look["rim_color"]
        if rim == "band":
            ell(d, 1.0, rc)
            ell(d, 1.0 - rng.uniform(0.05, 0.1), base)
        elif rim == "line":
            ell(d, 0.95, None, outline=rc, width=px)
        elif rim == "dots":
            n, k = int(rng.integers(14, 26)), (1.0 + look["well"]) / 2
            for i in range(n):
                a = 2 * math.pi * i / n
                ell(d, 0.03, rc, dx=rx * k * math.cos(a), dy=ry * k * math.sin(a))
        well = look["well"]
        ell(d, well, _c(base, 0.97))
        ell(sd, well, None, outline=96, width=px)
        ell(sd, 0.995, None, outline=100, width=max(1, px // 2))
        if look.get("food"):
            for j in range(int(rng.integers(1, 4))):
                fr = rng.uniform(0.35, 0.6) if j == 0 else rng.uniform(0.15, 0.32)
                fr, a = fr * well, rng.uniform(0, 2 * math.pi)
                off = rng.uniform(0, well - fr) * 0.8
                fx, fy = lx + rx * off * math.cos(a), ly + ry * off * math.sin(a)
                blob = _blob(rng, fx, fy, rx * fr, ry * fr)
                sd.polygon(
                    [(x - light[0] * px * 2, y - light[1] * px * 2) for x, y in blob], fill=88
                )
                d.polygon(blob, fill=_pick(rng, _FOOD, 12))
                for _ in range(int(rng.integers(0, 6))):
                    e = _blob(
                        rng,
                        fx + rng.normal(0, rx * fr / 3),
                        fy + rng.normal(0, ry * fr / 3),
                        rx * fr * 0.2,
                        ry * fr * 0.2,
                        8,
                    )
                    d.polygon(e, fill=_pick(rng, _FOOD, 12))
    else:  # bowl, cup: rim, concave inside, maybe contents; cups have a handle
        if obj.label == "cup":
            ca, sa = math.cos(obj.angle), math.sin(obj.angle) * obj.squash
            hw = 0.17 * rx
            p0, p1 = (
                (lx + 0.6 * rx * ca, ly + 0.6 * rx * sa),
                (lx + 1.3 * rx * ca, ly + 1.3 * rx * sa),
            )
            bar = [
                (p0[0] - hw * sa, p0[1] + hw * ca),
                (p1[0] - hw * sa, p1[1] + hw * ca),
                (p1[0] + hw * sa, p1[1] - hw * ca),
                (p0[0] + hw * sa, p0[1] - hw * ca),
            ]
            cap = [p1[0] - hw, p1[1] - hw, p1[0] + hw, p1[1] + hw]
            for dr in (md, d):
                dr.polygon(bar, fill=255 if dr is md else _c(base, 0.93))
                dr.ellipse(cap, fill=255 if dr is md else _c(base, 0.93))
            sd.line([p0, p1], fill=100, width=max(1, round(hw * 0.5)))
        ell(md, 1.0, 255)
        ell(d, 1.0, base)
        inner = 0.86 if obj.label == "bowl" else 0.84
        ell(d, inner, _c(base, 0.9))
        if obj.label == "bowl":
            ell(d, 0.45, _c(base, 0.95))
        if look.get("fill") is not None:
            k = rng.uniform(0.55, 0.72) if obj.label == "bowl" else rng.uniform(0.72, 0.78)
            ell(d, k, look["fill"])
            if obj.label == "cup" and sum(look["fill"]) < 300 and rng.random() < 0.5:  # crema
                ell(
                    d, k * rng.uniform(0.3, 0.6), _c(look["fill"], 1.9), dx=rng.normal(0, rx * 0.05)
                )
            ell(sd, k, None, outline=100, width=px)
        ell(sd, 0.94, None, outline=165, width=px)
        ell(sd, inner, None, outline=92, width=px)
    shade = shade.filter(ImageFilter.GaussianBlur(0.7 * px + 0.5))
    arr = np.asarray(rgb, dtype=np.float32) * (np.asarray(shade, dtype=np.float32) / 128)[..., None]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    nx, ny = (xx - lx) / rx, (yy - ly) / ry
    dot = nx * light[0] + ny * light[1]
    if obj.label in ("bowl", "cup"):
        nr = np.sqrt(nx * nx + ny * ny)
        gain = np.where(nr < 0.86, 0.95 - 0.22 * dot, 1.0 + 0.1 * dot)
    elif obj.label == "fruit":  # a sphere
        gain = 1.0 + 0.25 * dot - 0.3 * (nx * nx + ny * ny)
    else:
        gain = 1.0 + 0.07 * dot
    arr *= (gain + rng.normal(0.0, 0.012, gain.shape).astype(np.float32))[..., None]
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    return out, np.asarray(mask) > 127, x0, y0


def _blob(
    rng: np.random.Generator, cx: float, cy: float, rx: float, ry: float, n: int = 20
) -> list[tuple[float, float]]:
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rad = np.ones(n)
    for k in (2, 3, 5):
        rad += rng.uniform(0, 0.14) * np.cos(k * ang + rng.uniform(0, 2 * np.pi))
    return [
        (float(cx + rx * r * math.cos(a)), float(cy + ry * r * math.sin(a)))
        for a, r in zip(ang, rad, strict=True)
    ]


# --------------------------------------------------------------------------- scenes


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
    if background is None:
        background = BACKGROUNDS[int(rng.choice(len(BACKGROUNDS), p=_BG_WEIGHTS))]
    if background in BACKGROUNDS:
        bg = _background(rng, height, width, background)
        table = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8))
        canvas = table.resize((width * SS, height * SS), Image.Resampling.BILINEAR)
    else:
        canvas = Image.new("RGB", (width * SS, height * SS), background)
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
            h = _HEIGHT[obj.label] * obj.r * SS
            blur = 0.06 * obj.r * SS + 1.0
            pad = int(3 * blur + h) + 2
            sm = Image.new("L", (patch.width + 2 * pad, patch.height + 2 * pad), 0)
            sm.paste(
                255,
                (pad - round(light[0] * h), pad - round(light[1] * h)),
                Image.fromarray(sil.astype(np.uint8) * 255),
            )
            sm = sm.filter(ImageFilter.GaussianBlur(blur)).point(lambda v: int(v * strength))
            canvas.paste((8, 8, 16), (x0 - pad, y0 - pad), sm)
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


def _effects(
    rng: np.random.Generator, image: Image.Image, light: tuple[float, float]
) -> Image.Image:
    """Lighting gradient towards the light, vignette, white balance, noise, maybe blur."""
    w, h = image.size
    yy, xx = np.mgrid[-1 : 1 : h * 1j, -1 : 1 : w * 1j].astype(np.float32)
    gain = 1 + rng.uniform(0.05, 0.3) * (xx * light[0] + yy * light[1]) / 2
    gain *= 1 - rng.uniform(0.08, 0.3) * (xx * xx + yy * yy) / 2
    gain *= rng.uniform(0.85, 1.08)
    wb = (1 + rng.normal(0, 0.03, 3)).astype(np.float32)
    arr = np.asarray(image, dtype=np.float32) * gain[..., None] * wb
    arr += rng.normal(0, rng.uniform(1.5, 4.0), (h, w, 1)).astype(np.float32)
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if rng.random() < 0.5:
        out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.7)))
    return out


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
