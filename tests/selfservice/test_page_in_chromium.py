"""The self-service page in a real browser (Chromium): on a phone's screen, by keyboard,
without JavaScript, in both locales, asking nothing from elsewhere."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from tests.factories import account_document
from tests.selfservice.conftest import make_borrower

pytestmark = pytest.mark.parametrize("store", ["sqlite"], indirect=True)

PHONE = {"width": 390, "height": 844}
SHOTS = os.environ.get("SELF_SERVICE_SCREENSHOTS")  # a folder: also save the docs' images


def _serve(app) -> tuple[str, uvicorn.Server, threading.Thread]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.01)
    return f"http://127.0.0.1:{port}", server, thread


@pytest.fixture
def served(store, clock, redis_url, redis_namespace, file_config):
    def start(document=None):
        borrower = make_borrower(store, clock, redis_url, redis_namespace, file_config, document)
        url, server, thread = _serve(borrower.app)
        started.append((server, thread))
        return borrower, url

    started: list = []
    yield start
    for server, thread in started:
        server.should_exit = True
        thread.join(timeout=5)


def _shot(page, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / name), full_page=True)
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


def test_a_borrower_verifies_and_chooses_a_plan_on_a_phone(page, served, tmp_path):
    borrower, url = served()
    page.set_viewport_size(PHONE)
    page.goto(f"{url}{borrower.url}")
    assert page.locator("h2").first.text_content() == "Confirm it is you"
    assert "1,250" not in page.content()
    _shot(page, tmp_path, "self-service-verify.png")
    page.get_by_label("Last four digits of your phone number").fill("0123")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/account")
    assert page.get_by_text("$1,250.00").first.is_visible()
    _shot(page, tmp_path, "self-service-account.png")
    # Nothing wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_label("3 monthly payments", exact=False).check()
    page.get_by_role("button", name="Choose this plan").click()
    page.wait_for_url("**done=plan")
    assert page.get_by_role("status").text_content().startswith("Thank you.")
    _shot(page, tmp_path, "self-service-plan-chosen.png")


def test_the_page_works_by_keyboard(page, served):
    borrower, url = served()
    page.goto(f"{url}{borrower.url}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "last4"
    page.keyboard.type("0123")
    page.keyboard.press("Enter")
    page.wait_for_url("**/account")
    # Every field has a label a screen reader reads.
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
             .filter(e => !e.labels || e.labels.length === 0).map(e => e.name)"""
    )
    assert unlabelled == []


def test_the_page_works_without_javascript(chromium, served, tmp_path):
    borrower, url = served()
    context = chromium.new_context(java_script_enabled=False, viewport=PHONE)
    outside: list[str] = []
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(url)
            else (outside.append(route.request.url), route.abort())
        ),
    )
    page = context.new_page()
    try:
        page.goto(f"{url}{borrower.url}")
        page.fill("#last4", "0123")
        page.click("button[type=submit]")
        page.wait_for_url("**/account")
        page.check("input[name=reason][value=already_paid]")
        page.fill("#dispute-text", "Paid on October 3.")
        page.click("text=Send my dispute")
        page.wait_for_url("**done=dispute")
        assert "We have received your dispute" in page.content()
        assert "dispute under review" in page.content()
    finally:
        context.close()
    assert outside == []


def test_a_chinese_borrower_sees_the_page_in_chinese(page, served, tmp_path):
    document = account_document(
        jurisdiction="CN",
        borrower={
            "name": "王芳",
            "locale": "zh-CN",
            "time_zone": "Asia/Shanghai",
            "address": {"country": "CN", "region": "BJ", "postal_code": "100000"},
        },
        contact_points=[
            {"channel": "sms", "address": "+8613800138000", "consent": True},
            {"channel": "email", "address": "wang@example.cn"},
        ],
        debt={"amount_due": "3200.00", "currency": "CNY", "due_date": "2026-10-20"},
    )
    borrower, url = served(document)
    page.set_viewport_size(PHONE)
    page.goto(f"{url}{borrower.url}")
    assert page.get_attribute("html", "lang") == "zh-CN"
    page.get_by_label("手机号码后四位").fill("8000")
    page.get_by_role("button", name="继续").click()
    page.wait_for_url("**/account")
    assert page.get_by_text("¥3,200.00").first.is_visible()
    _shot(page, tmp_path, "self-service-zh-CN.png")


def test_text_has_enough_contrast(page, served):
    borrower, url = served()
    page.goto(f"{url}{borrower.url}")
    page.fill("#last4", "0123")
    page.click("button[type=submit]")
    page.wait_for_url("**/account")
    # WCAG AA: 4.5:1 for body text, computed from the colours the browser applied.
    worst = page.evaluate(
        """() => {
          const lum = c => { const [r,g,b] = c.match(/\\d+/g).slice(0,3).map(v => {
              v = v / 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
            return 0.2126*r + 0.7152*g + 0.0722*b; };
          const bg = e => { while (e) { const c = getComputedStyle(e).backgroundColor;
              if (!c.startsWith('rgba(0, 0, 0, 0)')) return c; e = e.parentElement; }
            return 'rgb(255,255,255)'; };
          let worst = 99;
          const texts = 'p, dt, dd, label, legend, h1, h2, h3, a, button, li';
          for (const e of document.querySelectorAll(texts)) {
            const a = lum(getComputedStyle(e).color), b = lum(bg(e));
            worst = Math.min(worst, (Math.max(a,b) + 0.05) / (Math.min(a,b) + 0.05));
          }
          return worst; }"""
    )
    assert worst >= 4.5
