"""Bad cases: which validation images a report keeps for people to look at, in what order,
and with which boxes (the selection only; the runners' use is checked by the trained-task
tests)."""

from __future__ import annotations

import itertools

import torch

from autolearn.evaluation.bad_cases import (
    WorstImages,
    classification_bad_cases,
    detection_bad_cases,
    image_errors,
)


def test_classification_keeps_mistakes_most_confident_first_and_bounded() -> None:
    logits = torch.tensor(
        [
            [5.0, 0.0, 0.0],  # right
            [0.0, 3.0, 0.0],  # wrong (true 0), fairly sure
            [0.0, 0.0, 9.0],  # wrong (true 1), very sure
            [0.0, 0.2, 0.0],  # wrong (true 2), unsure
        ]
    )
    targets = torch.tensor([0, 0, 1, 2])
    cases = classification_bad_cases(logits, targets, ["a", "b", "c"], ["s0", "s1", "s2", "s3"])
    assert [c["sha256"] for c in cases] == ["s2", "s1", "s3"]
    first = cases[0]
    assert (first["true"], first["predicted"]) == ("b", "c")
    assert first["confidence"] > 0.99 and first["true_score"] < 0.01
    assert all(c["confidence"] >= d["confidence"] for c, d in itertools.pairwise(cases))
    assert len(classification_bad_cases(logits, targets, ["a", "b", "c"], ["x"] * 4, 2)) == 2
    none_wrong = classification_bad_cases(logits[:1], targets[:1], ["a", "b", "c"], ["s0"])
    assert none_wrong == [] and classification_bad_cases(logits[:0], targets[:0], [], []) == []


def _target(boxes: list[list[float]], labels: list[int], image_id: int) -> dict[str, torch.Tensor]:
    return {
        "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        "labels": torch.tensor(labels, dtype=torch.int64),
        "image_id": torch.tensor(image_id),
    }


def _pred(
    boxes: list[list[float]], labels: list[int], scores: list[float]
) -> dict[str, torch.Tensor]:
    return {
        "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        "labels": torch.tensor(labels, dtype=torch.int64),
        "scores": torch.tensor(scores, dtype=torch.float32),
    }


def test_image_errors_match_by_class_iou_and_score() -> None:
    target = _target([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]], [0, 1, 0], 0)
    pred = _pred(
        [[0, 0, 10, 10], [20, 20, 30, 30], [60, 60, 70, 70], [40, 40, 50, 50], [0, 0, 10, 11]],
        [0, 0, 1, 0, 0],
        [0.9, 0.8, 0.7, 0.3, 0.95],
    )
    missed, false = image_errors(pred, target, score_threshold=0.5)
    # box 4 (0.95) takes gt 0 first, so box 0 is a duplicate; box 1 has the wrong class;
    # box 2 overlaps nothing; box 3 is below the threshold, so gt 2 is missed.
    assert (missed, false) == ([1, 2], [0, 1, 2])
    assert image_errors(pred, target, score_threshold=0.25) == ([1], [0, 1, 2])


def test_worst_images_are_bounded_and_ordered_by_errors() -> None:
    worst = WorstImages(score_threshold=0.5, limit=2)
    gt = [[0.0, 0.0, 10.0, 10.0]]
    perfect = (_pred(gt, [0], [0.9]), _target(gt, [0], 0))
    one = (_pred([], [], []), _target(gt, [0], 1))  # a missed box
    three = (_pred([[50, 50, 60, 60]] * 2, [1, 1], [0.8, 0.6]), _target(gt, [0], 2))
    also_one = (_pred([], [], []), _target(gt, [0], 3))
    for pred, target in (perfect, one, three, also_one):
        worst.update([pred], [target])
    cases = worst.cases()
    assert [(c["index"], c["errors"]) for c in cases] == [(2, 3), (1, 1)]  # earlier image wins
    assert cases[0]["missed"] == [{"label": 0, "box": gt[0]}]
    assert [b["score"] for b in cases[0]["false"]] == [0.8, 0.6]
    worst.reset()
    assert worst.cases() == []


def test_detection_cases_go_back_to_image_pixels_with_names() -> None:
    cases = [
        {
            "index": 4,
            "errors": 2,
            "missed": [{"label": 1, "box": [10.0, 20.0, 30.0, 40.0]}],
            "false": [{"label": 0, "box": [0.0, 0.0, 5.0, 5.0], "score": 0.7}],
        }
    ]
    out = detection_bad_cases(cases, ["cup", "plate"], lambda i: f"sha{i}", lambda i: (0.5, 0.25))
    assert out == [
        {
            "sha256": "sha4",
            "errors": 2,
            "missed": [{"label": "plate", "box": [20.0, 80.0, 60.0, 160.0]}],
            "false": [{"label": "cup", "box": [0.0, 0.0, 10.0, 20.0], "score": 0.7}],
        }
    ]
