"""Playwright helpers: Debian's headless Chromium, with console errors and CSP violations collected.

Never `playwright install`: the browser comes from the `chromium` Debian package.
"""

import os
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

# Runs before any page script and outside the page's CSP, so it sees every violation.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


class PageProblems:
    def __init__(self):
        self.errors: list[str] = []

    def watch(self, page):
        page.add_init_script(RECORD_CSP_VIOLATIONS)
        page.on("console", self._on_console)
        page.on("response", self._on_response)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        return page

    def _on_console(self, message):
        # Failed loads are reported with their URL by _on_response instead.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(f"console: {message.text}")

    def _on_response(self, response):
        if response.status >= 400:
            self.errors.append(f"HTTP {response.status}: {response.url}")

    def collect_csp(self, page):
        self.errors.extend(f"CSP: {v}" for v in page.evaluate("window.__cspViolations || []"))


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes are still
    # synchronous and never share a connection with the loop, so Django's async guard may stand down.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield instance
            finally:
                instance.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@contextmanager
def open_page(browser, **context_options):
    """A fresh browser context (own cookies) and page; yields (page, problems)."""
    context_options.setdefault("locale", "zh-CN")
    context = browser.new_context(**context_options)
    problems = PageProblems()
    try:
        yield problems.watch(context.new_page()), problems
    finally:
        context.close()


def log_in(page, base_url, username, password):
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# Data migrations seed reference rows (case categories, care tags, visit plans, checklists). A transactional test
# (every browser test) flushes the tables after it, so a later one seeds again what it needs.
REFERENCE_SEEDS = (
    "fengchao.cases.migrations.0002_seed_categories",
    "fengchao.registry.migrations.0002_seed_care_tags",
    "fengchao.visits.migrations.0002_seed_plans",
    "fengchao.inspections.migrations.0002_seed_fire_safety",
)


def reseed_reference_data() -> None:
    import importlib

    from django.apps import apps

    for name in REFERENCE_SEEDS:
        importlib.import_module(name).seed(apps, None)
