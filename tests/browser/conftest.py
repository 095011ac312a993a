"""Browser tests: the admin driven through the system Chromium by Playwright.

Every test here runs against pytest-django's live server, so the database is transactional
and is flushed after each test; `serialized_rollback` brings back what the migrations made
(the Support and Finance roles). These tests run last, so that their flush cannot take that
data from another transactional test. Without Chromium or Playwright they are skipped, except
under CI=true, where they fail.
"""

import re
from pathlib import Path

import pytest
from django.db import connections

from tests.conftest import IN_CI, PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items):
    ours = [item for item in items if HERE in item.path.parents]
    for item in ours:
        item.add_marker(pytest.mark.browser)
        item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))
    # pytest-django has put the transactional tests last (its hook runs first); ours go after
    # them all.
    theirs = [item for item in items if HERE not in item.path.parents]
    items[:] = theirs + ours


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    # The `page` fixture reads this at teardown to decide on a screenshot.
    setattr(item, f"report_{report.when}", report)
    return report


def _need(what: str, ok: bool) -> None:
    if ok:
        return
    if IN_CI:
        pytest.fail(f"{what} (CI=true: a browser test must not skip)")
    pytest.skip(what)


def _serialized_contents() -> dict[str, str]:
    return {
        connection.alias: connection._test_serialized_contents
        for connection in connections.all()
        if hasattr(connection, "_test_serialized_contents")
    }


@pytest.fixture(scope="session")
def browser(django_db_setup):
    """One headless system Chromium for the whole run."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("the playwright package is not installed", False)
    _need(f"Chromium is not installed at {CHROMIUM}", CHROMIUM.exists())
    # Playwright's sync API keeps an event loop running in the test thread, which trips
    # Django's async-unsafe guard on every ORM call a test makes.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        serialized = _serialized_contents()
        with sync_playwright() as playwright:
            # With an event loop running, Django hands this thread a second set of
            # connections; serialized_rollback looks for the migrated data on those.
            for alias, contents in serialized.items():
                connections[alias]._test_serialized_contents = contents
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()


@pytest.fixture
def page(request, browser, live_server):
    """A page in a fresh context (no cookies) with the live server as its base URL.

    When the test fails, a full-page screenshot goes to test-artifacts/browser/<test>.png.
    """
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        folder = request.config.rootpath / "test-artifacts" / "browser"
        folder.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        page.screenshot(path=folder / f"{name}.png", full_page=True)
    context.close()


@pytest.fixture
def log_in(page):
    """Log a staff user in through the admin's login form; lands on the admin index."""

    def log_in(user):
        page.goto("/admin/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/admin/")
        return page

    return log_in
