"""The table under the objects and the light over the scene.

Tables: wood grain, gingham / checked / striped cloth, plain cloth with mottling, a
cafeteria tray on a dark table. ``_effects`` gives the finished image a lighting
gradient, vignette, white-balance tint, noise and sometimes a slight blur.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageFilter

from autolearn.datasets.samples.tableware.draw import SS, Color, _hex, _pick

BACKGROUNDS: tuple[str, ...] = ("wood", "checked", "striped", "plain", "tray")
_BG_WEIGHTS = (0.25, 0.18, 0.12, 0.18, 0.27)


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


def _table(
    rng: np.random.Generator, width: int, height: int, background: str | None
) -> Image.Image:
    """The ``SS``-scale canvas: a random table kind (``background`` None), the named kind,
    or a plain RGB colour string like ``"#ff00ff"``."""
    if background is None:
        background = BACKGROUNDS[int(rng.choice(len(BACKGROUNDS), p=_BG_WEIGHTS))]
    if background in BACKGROUNDS:
        bg = _background(rng, height, width, background)
        table = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8))
        return table.resize((width * SS, height * SS), Image.Resampling.BILINEAR)
    return Image.new("RGB", (width * SS, height * SS), background)


# --------------------------------------------------------------------------- light


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
