"""Objects seen from above, drawn with Pillow from one ``numpy.random.Generator``.

Plates (rim, optional coloured or dotted rim pattern, inner well, food), bowls (rim
highlight, concave shading, sometimes soup or yogurt), cups (handle, dark liquid or
empty) and saucers, plus unlabelled distractors (napkins, cutlery, fruit). Objects are
drawn at ``SS``x (the scene box-filters them down: anti-aliased edges) with a random
look, shading towards the light, and a soft drop shadow (``_shadow``). Also the colour
helpers that the table textures share.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SS = 2  # supersampling factor of the object drawing

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


def _c(c: Sequence[float] | np.ndarray, k: float = 1.0) -> Color:
    return (
        int(min(255, max(0, round(c[0] * k)))),
        int(min(255, max(0, round(c[1] * k)))),
        int(min(255, max(0, round(c[2] * k)))),
    )


def _pick(rng: np.random.Generator, colors: Sequence[Color], jitter: float = 6.0) -> Color:
    c = np.asarray(colors[int(rng.integers(len(colors)))], dtype=float)
    return _c(c + rng.normal(0.0, jitter, 3))


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


def _shadow(
    canvas: Image.Image,
    obj: TableObject,
    patch: Image.Image,
    sil: np.ndarray,
    x0: int,
    y0: int,
    light: tuple[float, float],
    strength: float,
) -> None:
    """Paste ``obj``'s soft drop shadow (its silhouette ``sil`` at ``x0, y0``, offset away
    from the light by its height) onto ``canvas``."""
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
