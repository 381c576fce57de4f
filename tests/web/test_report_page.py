"""The daily report's page in a real Chromium: its plots load from the files beside it
and its headline numbers are the scripted day's (issue 17, part 3)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from edge.report import page as report_page
from edge.report.day import figures, read_day
from tests.report.scripted import DAY, expected_headline, write_day
from tests.web.conftest import screenshot


def test_the_report_page_shows_its_plots_and_the_days_numbers(open_page, tmp_path: Path) -> None:
    """Four images, each decoded (naturalWidth > 0) from its file; the four headline
    figures as the plan of the day gives them; no console error."""
    plan = write_day(tmp_path / "events")
    out = tmp_path / "page"
    # What `edge report` runs (its process is tests/report/test_command.py's).
    written = report_page.write(figures(DAY, read_day(tmp_path / "events", DAY)), out)
    page = open_page(written.as_uri())
    images = page.locator("figure img")
    expect(images).to_have_count(4)
    for i in range(4):
        image = images.nth(i)
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete", arg=image.element_handle())
        assert image.evaluate("img => img.naturalWidth") > 0, image.get_attribute("src")
        assert image.get_attribute("alt")
    for name, value in expected_headline(plan).items():
        card = page.locator(f".headline li[data-figure='{name}']")
        expect(card.locator(".value")).to_have_text(value)
    expect(page.locator("h1")).to_have_text(f"Calls on {DAY.isoformat()}")
    screenshot(page, "report-day.png")
    assert not page.problems, page.problems.messages
