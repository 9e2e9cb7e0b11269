"""The confirm and cancel pages as a patient meets them: headless Chromium on a phone, real buttons."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, sync_playwright

from scheduling import links
from scheduling.models import Appointment

CHROMIUM = "/usr/bin/chromium"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API runs an event loop in this thread; the ORM calls in these tests are still
    # plain synchronous calls, so Django's async-safety guard is relaxed for this module only.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(**PHONE)  # type: ignore[arg-type]
    yield context.new_page()
    context.close()


def link(live_server: Any, appointment: Appointment, action: str) -> str:
    return live_server.url + reverse(f"patient-{action}", args=[links.action_token(appointment, action)])


def contrast(page: Page, selector: str) -> float:
    """WCAG contrast ratio between an element's text colour and its background colour."""
    return float(page.evaluate(
        """(selector) => {
            const el = document.querySelector(selector);
            const style = getComputedStyle(el);
            const rgb = (c) => c.match(/\\d+/g).slice(0, 3).map(Number);
            const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
                .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
            const [a, b] = [lum(rgb(style.color)), lum(rgb(style.backgroundColor))].sort((x, y) => y - x);
            return (a + 0.05) / (b + 0.05);
        }""",
        selector,
    ))  # fmt: skip


def test_a_patient_confirms_from_their_phone(live_server: Any, phone: Page, booked: Appointment) -> None:
    phone.goto(link(live_server, booked, "confirm"))
    assert phone.get_attribute("html", "lang") == "en"
    assert phone.get_by_role("heading", level=1).inner_text() == "Hello Ali, will you be coming?"
    button = phone.get_by_role("button", name="Yes, I'll be there")
    box = button.bounding_box()
    assert box is not None
    assert box["width"] <= 390
    assert box["height"] >= 44  # a comfortable tap target
    assert contrast(phone, "button.confirm") >= 4.5
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED  # opening the page changed nothing
    focused = ""
    for _ in range(5):  # the button is reachable from the keyboard (after the phone link)...
        phone.keyboard.press("Tab")
        focused = phone.evaluate("document.activeElement.textContent.trim()")
        if focused == "Yes, I'll be there":
            break
    assert focused == "Yes, I'll be there"
    outline = phone.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")  # ...and shows where the focus is
    phone.keyboard.press("Enter")
    phone.wait_for_selector("text=Thank you, your appointment is confirmed.")
    Path("var").mkdir(exist_ok=True)
    phone.screenshot(path="var/browser-confirmed.png", full_page=True)
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.CONFIRMED


def test_a_patient_cancels_from_their_phone(live_server: Any, phone: Page, booked: Appointment) -> None:
    phone.goto(link(live_server, booked, "cancel"))
    button = phone.get_by_role("button", name="Cancel my appointment")
    assert contrast(phone, "button.cancel") >= 4.5
    button.tap()
    phone.wait_for_selector("text=Your appointment is cancelled.")
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.CANCELLED_BY_PATIENT
    phone.goto(link(live_server, booked, "cancel"))  # the same link again
    assert "already cancelled" in phone.inner_text("h1")


def test_a_broken_link_shows_a_friendly_page(live_server: Any, phone: Page, booked: Appointment) -> None:
    response = phone.goto(live_server.url + reverse("patient-confirm", args=["this-is-not-a-token"]))
    assert response is not None
    assert response.status == 400
    assert phone.inner_text("h1") == "Sorry, this link can't be used"
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED
