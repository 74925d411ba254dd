"""The data center over REST: datasets, versions by number or hash, JSON 404s."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from autolearn.datasets.service import import_dataset


def test_list_show_and_versions(
    client: TestClient, autolearn_home: Path, make_learnable_folder: Callable[..., Path]
) -> None:
    version = import_dataset(
        make_learnable_folder(autolearn_home / "colours", {"red": 6, "blue": 6}), name="colours"
    )
    listed = client.get("/api/v1/datasets").json()
    assert [(d["name"], d["latest"], d["num_images"]) for d in listed] == [
        ("colours", "colours:v1", 12)
    ]
    shown = client.get("/api/v1/datasets/colours").json()
    assert [v["ref"] for v in shown["versions"]] == ["colours:v1"]
    for ref in ("1", "v1", f"@{version.content_hash[:8]}"):
        got = client.get(f"/api/v1/datasets/colours/versions/{ref}")
        assert got.status_code == 200, (ref, got.text)
        assert got.json()["content_hash"] == version.content_hash
    missing = client.get("/api/v1/datasets/colours/versions/v9")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "dataset_not_found"
    assert "v1" in missing.json()["error"]["message"]  # says which versions exist
    bad = client.get("/api/v1/datasets/colours/versions/@xyz")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_dataset"


def test_unknown_dataset_is_404(client: TestClient) -> None:
    response = client.get("/api/v1/datasets/nope")
    assert response.status_code == 404
    assert "no dataset named 'nope'" in response.json()["error"]["message"]
