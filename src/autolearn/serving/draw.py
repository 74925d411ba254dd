"""Pictures of predictions for a person to look through: boxes with label and score
(drawn by torchvision's ``draw_bounding_boxes``), or a classifier's top class written in a
corner. Each class keeps one colour in every picture, and lines and text grow with the
image so that they stay visible on a 4000 px photo and do not swamp a 100 px one."""

from __future__ import annotations

import colorsys
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageDraw, ImageFont

GOLDEN = 0.618033988749895
FONT_NAME = "DejaVuSans.ttf"  # found by name in the system's font folders, when installed
JPEG_QUALITY = 90


def class_colour(class_id: int) -> tuple[int, int, int]:
    """The colour of a class, the same in every picture: hues a golden-ratio step apart,
    so that classes with neighbouring ids never look alike."""
    r, g, b = colorsys.hsv_to_rgb((class_id * GOLDEN) % 1.0, 0.85, 0.95)
    return round(r * 255), round(g * 255), round(b * 255)


def line_width(width: int, height: int) -> int:
    """About 0.3 % of the longer side (2 px at 640 px), at least 1."""
    return max(1, round(max(width, height) / 320))


def font_size(width: int, height: int) -> int:
    """About 2.5 % of the longer side, at least 10 px (still legible)."""
    return max(10, round(max(width, height) / 40))


@lru_cache(maxsize=1)
def _font_file() -> str | None:
    """A TrueType font that can be scaled with the image; None without one (Pillow's
    small built-in font is used then)."""
    try:
        ImageFont.truetype(FONT_NAME, 10)
    except OSError:
        return None
    return FONT_NAME


def _pil_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    name = _font_file()
    return ImageFont.truetype(name, size) if name else ImageFont.load_default(size)


def draw_detections(image: Image.Image, detections: list[dict[str, Any]]) -> Image.Image:
    """A copy of the RGB ``image`` with each detection's box, label and score."""
    from torchvision.transforms.v2.functional import pil_to_tensor, to_pil_image
    from torchvision.utils import draw_bounding_boxes

    if not detections:
        return image.copy()
    # Lowest score first, so the most confident box is drawn on top where boxes overlap.
    ordered = sorted(detections, key=lambda d: d["score"])
    font = _font_file()
    drawn = draw_bounding_boxes(
        pil_to_tensor(image.convert("RGB")),
        torch.tensor([d["box"] for d in ordered], dtype=torch.float32),
        labels=[f"{d['label']} {d['score']:.2f}" for d in ordered],
        colors=[class_colour(d["class_id"]) for d in ordered],
        width=line_width(*image.size),
        font=font,
        font_size=font_size(*image.size) if font else None,
        fill_labels=True,
    )
    picture: Image.Image = to_pil_image(drawn)
    return picture


def draw_classification(image: Image.Image, predictions: list[dict[str, Any]]) -> Image.Image:
    """A copy of the RGB ``image`` with the top class and its score in the top-left corner."""
    picture = image.convert("RGB")  # always a copy
    if not predictions:
        return picture
    top = predictions[0]
    text = f"{top['label']} {top['score']:.2f}"
    draw = ImageDraw.Draw(picture)
    font = _pil_font(font_size(*picture.size))
    pad = line_width(*picture.size) * 2
    _, _, right, lower = draw.textbbox((pad, pad), text, font=font)
    draw.rectangle((0, 0, right + pad, lower + pad), fill=class_colour(top["class_id"]))
    draw.text((pad, pad), text, fill="black", font=font)
    return picture


def draw_result(image: Image.Image, result: dict[str, Any]) -> Image.Image:
    """The picture of one predictor result (detection or classification)."""
    if "detections" in result:
        return draw_detections(image, result["detections"])
    return draw_classification(image, result.get("predictions", []))


def output_name(source: Path, taken: set[str]) -> str:
    """``<stem>.png`` for a PNG source (keeps it lossless), else ``<stem>.jpg``; ``<stem>-1``,
    ``-2`` … when an earlier input of this run already has the name (same stem in two
    folders). Compared case-insensitively, for case-insensitive file systems."""
    suffix = ".png" if source.suffix.lower() == ".png" else ".jpg"
    name, n = f"{source.stem}{suffix}", 0
    while name.lower() in taken:
        n += 1
        name = f"{source.stem}-{n}{suffix}"
    taken.add(name.lower())
    return name


class DrawingFolder:
    """Where one run's pictures go: created on first use, one file per input image."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: set[str] = set()

    def save(self, source: Path, image: Image.Image, result: dict[str, Any]) -> Path:
        """Draw ``result`` on ``image`` (read from ``source``) and save it; returns the file."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / output_name(source, self.taken)
        picture = draw_result(image, result)
        if target.suffix == ".jpg":
            picture.save(target, quality=JPEG_QUALITY)
        else:
            picture.save(target)
        return target
