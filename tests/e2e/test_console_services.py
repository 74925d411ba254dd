"""Models and Services in a real browser: a member's published model version (made
through the service, as `autolearn model publish` does) is deployed from its page, and
an image uploaded on the service's page comes back as classes with score bars; axe-core
on the pages shown."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from model_fixtures import make_finished_task, png_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_services")]


def test_publish_deploy_and_predict_in_the_console(
    page: Page,
    autolearn_home: Path,
    tokens: dict[str, str],
    axe_check: Callable[[Page], None],
    snap: Callable[[Page, str], Path],
) -> None:
    from autolearn.accounts.service import authenticate_token
    from autolearn.models.published import publish

    alice = authenticate_token(tokens["alice"])
    task = make_finished_task(autolearn_home, "colours", actor=alice)
    publish(task["id"], "colours", description="red wins", actor=alice)

    page.get_by_role("link", name="Models", exact=True).click()
    row = page.locator("#model-table tbody tr[data-ref='colours:v1']")
    expect(row).to_have_count(1)
    axe_check(page)
    row.get_by_role("link", name="colours:v1").click()
    expect(page.locator("#model-summary")).to_contain_text("classification")
    expect(page.locator("#card-table")).to_contain_text("colours:v1")  # the dataset version
    expect(page.locator("#metrics-table")).to_contain_text("accuracy")
    expect(page.locator("#model-download")).to_be_visible()
    axe_check(page)
    snap(page, "model-version")

    page.get_by_label("Service name").fill("colours-online")
    page.get_by_role("button", name="Deploy").click()
    page.wait_for_url("**/console/services/*")
    expect(page.locator("#service-name")).to_contain_text("colours-online")
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    expect(page.get_by_role("button", name="Start")).to_be_hidden()
    page.get_by_label("Image file").set_input_files(
        {"name": "red.png", "mimeType": "image/png", "buffer": png_bytes(size=(40, 24))}
    )
    page.get_by_role("button", name="Predict").click()
    expect(page.locator("#result-summary")).to_contain_text("40×24")
    first = page.locator("#result-classes tbody tr").first
    expect(first).to_have_attribute("data-label", "red")
    expect(page.locator("#service-health")).to_contain_text("1 request(s)")
    axe_check(page)
    snap(page, "service")

    page.get_by_role("link", name="Services", exact=True).click()
    expect(page.locator("#service-table tbody tr")).to_have_count(1)
    expect(page.locator("#service-table")).to_contain_text("colours-online")
    axe_check(page)
