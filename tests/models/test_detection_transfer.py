"""Incremental detection: a base detector's weights carry over by class name; new
classes start fresh, and the background row (SSDLite, Faster R-CNN) is kept."""

from __future__ import annotations

import pytest
import torch

from autolearn.models import detection as det
from autolearn.models.detection_transfer import transfer_detection_classes

SIZE = 128
BASE = ["cup", "plate"]
NEW = ["plate", "cup", "bowl"]  # reordered, plus a new class


def _randomised(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.state_dict().values():
            if p.is_floating_point():  # positive: BN running variances stay valid
                p.copy_(torch.rand(p.shape, generator=gen) + 0.5)
    return model


@pytest.mark.parametrize("arch", ["fcos", "retinanet", "ssdlite", "fasterrcnn"])
def test_classes_carry_over_by_name(arch: str) -> None:
    base = _randomised(det.build_detector(arch, "test_tiny", 2, SIZE, pretrained=False), 1)  # type: ignore[arg-type]
    fresh = det.build_detector(arch, "test_tiny", 3, SIZE, pretrained=False)  # type: ignore[arg-type]
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    base_state = base.state_dict()
    info = transfer_detection_classes(fresh, base, base_state, BASE, NEW)
    assert info["carried_classes"] == ["plate", "cup"] and info["new_classes"] == ["bowl"]
    assert info["skipped_keys"] == []
    after = fresh.state_dict()
    layers = dict(det.class_layers(fresh))
    for key, value in base_state.items():
        layer = key.rpartition(".")[0]
        if layer not in layers:
            assert torch.equal(after[key], value), key
            continue
        for name in BASE:
            rows_new = det.class_channels(fresh, layer, NEW.index(name))
            rows_old = det.class_channels(base, layer, BASE.index(name))
            assert torch.equal(after[key][rows_new], value[rows_old]), (key, name)
        bowl = det.class_channels(fresh, layer, NEW.index("bowl"))
        assert torch.equal(after[key][bowl], before[key][bowl]), key  # fresh init kept
        if det.label_offset(fresh):
            bg_new = det.class_channels(fresh, layer, None)
            bg_old = det.class_channels(base, layer, None)
            assert torch.equal(after[key][bg_new], value[bg_old])


def test_the_carried_model_predicts_what_the_base_predicted() -> None:
    """Same weights for the old classes → the same boxes, scores and class names."""
    torch.manual_seed(2)  # two fresh models: different random heads
    base = det.build_detector("fcos", "test_tiny", 2, SIZE, pretrained=False, score_thresh=0.0)
    fresh = det.build_detector("fcos", "test_tiny", 3, SIZE, pretrained=False, score_thresh=0.0)
    # make the new class silent, as its focal-loss prior bias does in a real run
    transfer_detection_classes(fresh, base, base.state_dict(), BASE, NEW)
    with torch.no_grad():
        bias = fresh.get_submodule("head.classification_head.cls_logits").bias
        bias[det.class_channels(fresh, "head.classification_head.cls_logits", 2)] = -50.0
    image = [torch.rand(3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))]
    base.eval(), fresh.eval()
    with torch.no_grad():
        old = det.from_model_predictions(base, base(image))[0]
        new = det.from_model_predictions(fresh, fresh(image))[0]
    assert len(old["boxes"]) > 0
    torch.testing.assert_close(new["boxes"], old["boxes"])
    torch.testing.assert_close(new["scores"], old["scores"])
    assert [NEW[i] for i in new["labels"]] == [BASE[i] for i in old["labels"]]


def test_aspect_ratio_option_sets_retinanet_anchors_and_survives_transfer() -> None:
    ratios = (0.8, 1.0, 1.25)
    model = det.build_detector(
        "retinanet", "test_tiny", 2, SIZE, pretrained=False, aspect_ratios=ratios
    )
    assert model.anchor_generator.aspect_ratios[0] == ratios
    assert model.anchor_generator.num_anchors_per_location()[0] == 3 * len(ratios)
    base = det.build_detector(
        "retinanet", "test_tiny", 1, SIZE, pretrained=False, aspect_ratios=ratios
    )
    info = transfer_detection_classes(model, base, base.state_dict(), ["cup"], ["cup", "bowl"])
    assert info["skipped_keys"] == []
