"""Issue 6's must-show flow in one browser session, as a member would go through it:
sign in; upload a dataset zip in the Data center; create a task through the New task
form with its defaults (the tiny test model, so training takes seconds); watch the
Training page update until SUCCEED; find the task in the Task list; open its Evaluation;
label two images and commit a new version. Every page gets an axe-core pass (no critical
violations) and a screenshot in docs/screenshots/."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app_fixtures import zip_folder

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

OPTIMIZE_TIMEOUT_MS = 180_000
TRAIN_TIMEOUT_MS = 240_000  # the tiny model trains in seconds; a loaded CI machine is slow


def _upload(page: Page, name: str, data: bytes) -> None:
    page.goto("/console/datasets")
    page.get_by_label("Dataset name").fill(name)
    page.get_by_label("Zip file").set_input_files(
        {"name": f"{name}.zip", "mimeType": "application/zip", "buffer": data}
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#upload-report")).to_contain_text(f"Imported as {name}:v1")


def test_member_uploads_trains_follows_evaluates_and_labels(
    page: Page,
    tmp_path: Path,
    make_learnable_folder: Callable[..., Path],
    axe_check: Callable[[Page], None],
    snap: Callable[[Page, str], Path],
) -> None:
    started = time.monotonic()
    # -- Data center: upload a zip, see its report and the dataset in the list ----------
    # The fixture colours classes in sorted order: red first, then green.
    folder = make_learnable_folder(tmp_path / "colours", {"cherry": 8, "lime": 8})
    _upload(page, "colours", zip_folder(folder, "*.png"))
    row = page.locator("#dataset-table tbody tr[data-name='colours']")
    expect(row).to_contain_text("16")  # images
    expect(row).to_contain_text("cherry, lime")
    axe_check(page)
    snap(page, "datasets")

    # -- Dataset page: versions, statistics, the image grid ------------------------------
    page.locator("#upload-open").click()
    page.wait_for_url(re.compile(r"/console/datasets/colours\?version=1$"))
    expect(page.locator("#version-table tbody tr")).to_have_count(1)
    expect(page.locator("#image-grid li")).to_have_count(16)
    expect(page.locator("#class-chart tbody tr")).to_have_count(2)
    axe_check(page)
    snap(page, "dataset")

    # -- New task: the generated form, its defaults, the tiny model ----------------------
    page.goto("/console/tasks/new")
    form = page.locator("#task-form")
    expect(form).to_have_attribute("data-ready", "true")
    for section in ("basic", "data", "model", "resources"):
        expect(page.locator(f"fieldset[data-field-path='{section}']")).to_be_visible()
    page.locator("#f-basic-name").fill("colours-tiny")
    page.locator("#f-data-source-type-dataset").check()
    page.locator("#f-data-source-dataset").select_option("colours")
    expect(page.locator("#f-model-max_duration")).to_have_value("3600")  # 1 h by default
    expect(page.locator("#f-model-hyperparams-epochs")).to_have_value("auto")
    page.locator("#f-model-pretrained").fill("test_tiny")
    axe_check(page)
    snap(page, "task-new")

    # -- Next: the review (advice, resolved plan) before anything is queued ---------------
    page.locator("#create-task").click()
    review = page.locator("#task-review")
    expect(review).to_be_visible()
    expect(page.locator("#review-plan")).to_contain_text("colours:v1")
    expect(page.locator("#review-advice li").first).to_be_visible()
    assert re.search(r"/console/tasks/new$", page.url)  # nothing queued yet
    axe_check(page)
    snap(page, "task-review")

    # -- Launch: the Training page follows the task to SUCCEED ---------------------------
    page.locator("#launch-task").click()
    page.wait_for_url(re.compile(r"/console/tasks/\d+\?created=1$"))
    task_id = int(re.findall(r"/console/tasks/(\d+)", page.url)[0])
    expect(page.locator("#task-name")).to_contain_text("colours-tiny")
    status = page.locator("#task-status")
    expect(status).to_have_text(re.compile("QUEUED|STARTING|RUNNING|SUCCEED"))
    expect(status).to_have_text("SUCCEED", timeout=TRAIN_TIMEOUT_MS)
    expect(page.locator("#task-epoch")).to_have_text(re.compile(r"\d+ of \d+"))
    expect(page.locator("#task-logs")).not_to_be_empty()
    expect(page.locator("#loss-chart svg, #loss-chart canvas").first).to_be_visible()
    evaluation = page.locator("#task-evaluation")
    expect(evaluation).to_be_visible()
    axe_check(page)
    snap(page, "training")

    # -- Task management: find it by name, reopen it -------------------------------------
    page.goto("/console/tasks")
    page.get_by_label("Search by name").fill("colours")
    task_row = page.locator(f"#task-table tbody tr[data-task-id='{task_id}']")
    expect(task_row).to_contain_text("colours-tiny")
    expect(task_row).to_contain_text("SUCCEED")
    page.get_by_label("Status").select_option("SUCCEED")
    expect(task_row).to_be_visible()
    axe_check(page)
    snap(page, "tasks")
    task_row.get_by_role("link", name="Open colours-tiny").click()
    page.wait_for_url(re.compile(rf"/console/tasks/{task_id}$"))
    expect(page.locator("#task-status")).to_have_text("SUCCEED")

    # -- Evaluation: metrics, confusion matrix, per-class table --------------------------
    page.locator("#task-evaluation").click()
    page.wait_for_url(re.compile(rf"/console/evaluations/{task_id}$"))
    expect(page.locator("#metrics-table tbody tr").first).to_be_visible()
    expect(page.locator("#matrix-section")).to_be_visible()
    expect(page.locator("#per-class-table")).to_contain_text("cherry")
    axe_check(page)
    snap(page, "evaluation")

    # -- Optimise the model on its evaluation page, then publish the optimised copy -----
    expect(page.locator("#opt-status")).to_have_text("No optimisation yet.", timeout=30_000)
    page.get_by_label("Level").select_option("NO_LOSS")
    page.locator("#opt-start").click()
    row = page.locator("#opt-table tbody tr", has_text="cpu-no_loss")
    expect(row).to_contain_text("ready", timeout=OPTIMIZE_TIMEOUT_MS)
    expect(row).to_contain_text("onnxruntime-cpu")
    expect(page.locator("#export-onnx")).to_have_attribute(
        "href", f"/api/v1/models/{task_id}/export/onnx"
    )
    row.get_by_role("button", name="Publish").click()
    expect(page.locator("#flash")).to_contain_text(f"task{task_id}-cpu-no_loss:v1")
    axe_check(page)
    snap(page, "optimize")

    # -- Labelling: two images get a class, then a new version ---------------------------
    page.goto("/console/datasets/colours")
    labelling = page.locator("#open-labelling")
    expect(labelling).not_to_have_attribute("aria-disabled", "true")
    labelling.click()
    page.wait_for_url(re.compile(r"/console/datasets/colours/label\?"))
    tiles = page.locator("#label-tiles button.tile")
    expect(tiles).to_have_count(16)
    expect(page.locator("#draft-info")).to_contain_text("0 edit(s)")
    for index in (0, 1):
        tile = tiles.nth(index)
        label = "lime" if "class cherry" in tile.inner_text() else "cherry"  # a real change
        tile.click()
        expect(tile).to_have_attribute("aria-pressed", "true")
        page.locator("#label-class-select").select_option(label)
        page.get_by_role("button", name="Save label").click()
        expect(page.locator("#draft-info")).to_contain_text(f"{index + 1} edit(s)")
        expect(tile).to_contain_text(f"class {label}")
    page.get_by_label("What changed (optional)").fill("two images relabelled")
    axe_check(page)
    snap(page, "labelling")
    page.get_by_role("button", name="Commit as a new version").click()
    page.wait_for_url(re.compile(r"/console/datasets/colours\?version=2$"))
    versions = page.locator("#version-table tbody tr")
    expect(versions).to_have_count(2)
    expect(
        versions.filter(has_text="colours:v2").or_(versions.filter(has_text="v2"))
    ).not_to_have_count(0)
    expect(page.locator("#version-table")).to_contain_text("2 relabelled")
    axe_check(page)
    print(f"console flow: {time.monotonic() - started:.1f} s")
