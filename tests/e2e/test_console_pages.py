"""Console pages in a real browser, one behaviour each (no training): the New task form's
inline errors from the API's 422, and members who never see each other's data."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app_fixtures import zip_folder

pytestmark = pytest.mark.e2e


def test_new_task_form_shows_the_apis_validation_errors_next_to_their_fields(
    page: Page, axe_check: Callable[[Page], None]
) -> None:
    page.goto("/console/tasks/new")
    expect(page.locator("#task-form")).to_have_attribute("data-ready", "true")
    duration = page.locator("#f-model-max_duration")
    duration.fill("5")  # the spec's minimum is 10 s
    page.locator("#create-task").click()
    expect(duration).to_have_attribute("aria-invalid", "true")
    error = page.locator("[data-field='model.max_duration'] .field-error")
    expect(error).to_contain_text("greater than or equal to 10")
    expect(page.locator("#flash")).to_contain_text("fix the fields")
    assert re.search(r"/console/tasks/new$", page.url)  # nothing was created
    axe_check(page)  # with the error messages shown

    duration.fill("600")
    page.locator("#create-task").click()
    expect(page.locator("[data-field='model.max_duration'] .field-error")).to_have_count(0)


def test_a_member_never_sees_another_members_dataset(
    sign_in: Callable[[str], Page],
    tmp_path: Path,
    make_learnable_folder: Callable[..., Path],
) -> None:
    alice = sign_in("alice")
    alice.goto("/console/datasets")
    alice.get_by_label("Dataset name").fill("alices")
    data = zip_folder(make_learnable_folder(tmp_path / "alices", {"a": 3, "b": 3}))
    alice.get_by_label("Zip file").set_input_files(
        {"name": "alices.zip", "mimeType": "application/zip", "buffer": data}
    )
    alice.get_by_role("button", name="Upload", exact=True).click()
    expect(alice.locator("#upload-report")).to_contain_text("Imported as alices:v1")
    expect(alice.locator("#dataset-table tbody tr[data-name='alices']")).to_have_count(1)

    bob = sign_in("bob")
    bob.goto("/console/datasets")
    expect(bob.locator("#dataset-table")).to_have_attribute("aria-busy", "false")
    expect(bob.locator("#dataset-table tbody tr")).to_have_count(0)
    expect(bob.locator("#dataset-empty")).to_be_visible()
    bob.goto("/console/datasets/alices")
    expect(bob.locator("#flash")).to_be_visible()
    expect(bob.locator("#image-grid li")).to_have_count(0)
    bob.goto("/console/tasks/new")
    expect(bob.locator("#task-form")).to_have_attribute("data-ready", "true")
    expect(bob.locator("#f-data-source-dataset option[value='alices']")).to_have_count(0)

    root = sign_in("root")  # an admin sees every member's data
    root.goto("/console/datasets")
    expect(root.locator("#dataset-table tbody tr[data-name='alices']")).to_have_count(1)
