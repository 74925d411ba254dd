"""Manifest items → the samples the training engines load: the one mapping from a dataset
version's items to class indices in a plan's class order, used by the worker (training)
and by the optimiser (calibration images, the accuracy gate's validation set)."""

from __future__ import annotations

from functools import partial

from autolearn.datasets.service import Manifest, ManifestItem
from autolearn.training.data import Sample
from autolearn.training.detection_data import DetectionSample


def samples(manifest: Manifest, items: list[ManifestItem], classes: list[str]) -> list[Sample]:
    """Manifest items → loadable samples, class index taken from the plan's class order."""
    index = {c: i for i, c in enumerate(classes)}
    return [
        Sample(partial(manifest.open_image, item), index[item.label or ""], item.sha256)
        for item in items
    ]


def detection_samples(
    manifest: Manifest, items: list[ManifestItem], classes: list[str]
) -> list[DetectionSample]:
    """Manifest items with boxes → detection samples (labels in the plan's class order)."""
    index = {c: i for i, c in enumerate(classes)}
    return [
        DetectionSample(
            partial(manifest.open_image, item),
            tuple(item.boxes or ()),
            tuple(index[b.label] for b in item.boxes or ()),
            item.sha256,
        )
        for item in items
    ]
