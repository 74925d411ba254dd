"""The console on detection data, in the browser: a COCO zip (the tableware generator)
uploaded and shown with its boxes drawn, a detection task created through the form and
trained to SUCCEED, its evaluation with PR curves and bad cases drawn as boxes, and a box
added in labelling and committed as a new version. axe-core on each page."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app_fixtures import zip_folder
from autolearn.datasets.samples.tableware import build

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
TRAIN_TIMEOUT_MS = 300_000


def _coco_zip(root: Path) -> bytes:
    return zip_folder(build(root, n_images=24, size=(160, 120), vary_size=False))


def test_detection_data_training_evaluation_and_box_labelling(
    page: Page,
    tmp_path: Path,
    axe_check: Callable[[Page], None],
    snap: Callable[[Page, str], Path],
) -> None:
    page.goto("/console/datasets")
    page.get_by_label("Dataset name").fill("trays")
    page.get_by_label("Zip file").set_input_files(
        {"name": "trays.zip", "mimeType": "application/zip", "buffer": _coco_zip(tmp_path)}
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#upload-report")).to_contain_text("Imported as trays:v1")
    page.locator("#upload-open").click()
    page.wait_for_url(re.compile(r"/console/datasets/trays\?version=1$"))
    expect(page.locator("#image-grid li").first).to_be_visible()
    expect(page.locator("#image-grid li svg rect").first).to_be_attached()  # boxes drawn
    axe_check(page)

    page.goto("/console/tasks/new")
    expect(page.locator("#task-form")).to_have_attribute("data-ready", "true")
    page.locator("#f-basic-name").fill("trays-tiny")
    page.locator("#f-basic-scenario").select_option("detection")
    page.locator("#f-data-source-type-dataset").check()
    page.locator("#f-data-source-dataset").select_option("trays")
    page.locator("#f-model-pretrained").fill("test_tiny")
    page.locator("#f-model-preference").select_option("speed")
    page.locator("#f-model-hyperparams-epochs").fill("2")
    page.locator("#create-task").click()
    expect(page.locator("#task-review")).to_be_visible()
    expect(page.locator("#review-plan")).to_contain_text("trays:v1")
    page.locator("#launch-task").click()
    page.wait_for_url(re.compile(r"/console/tasks/\d+\?created=1$"))
    expect(page.locator("#task-status")).to_have_text("SUCCEED", timeout=TRAIN_TIMEOUT_MS)

    page.locator("#task-evaluation").click()
    page.wait_for_url(re.compile(r"/console/evaluations/\d+$"))
    expect(page.locator("#metrics-table")).to_contain_text("mAP@0.5")
    expect(page.locator("#pr-curves svg").first).to_be_visible()
    cases = page.locator("#bad-cases li[data-sha256]")
    expect(cases.first).to_be_visible()  # an untrained-looking tiny detector misses boxes
    expect(cases.first.locator("svg rect").first).to_be_attached()
    axe_check(page)
    snap(page, "evaluation-detection")

    page.goto("/console/datasets/trays/label?version=1")
    first = page.locator("#label-tiles button.tile[data-sha256]").first
    expect(first).to_be_visible()
    first.click()
    sha = first.get_attribute("data-sha256")
    expect(page.locator("#label-image")).to_have_attribute("data-sha256", sha or "")
    # every generated scene has boxes: wait until the image's boxes are listed
    expect(page.locator("#box-list button").first).to_be_visible()
    before = page.locator("#box-list button").count()
    page.locator("#add-box").click()
    expect(page.locator("#box-list button")).to_have_count(before + 1)
    expect(page.locator("#draft-info")).to_contain_text("1 edit")
    axe_check(page)
    snap(page, "labelling-detection")
    page.locator("#commit-draft").click()
    page.wait_for_url(re.compile(r"/console/datasets/trays\?version=2$"))
    expect(page.locator("#version-table")).to_contain_text("+1 box")
