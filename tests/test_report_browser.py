"""The report's interactive eDISH in a real headless browser (Chromium and chromedriver from the Debian
packages, driven by Selenium): hover shows a point's key, peaks and dates; a click draws that patient's
trajectory; the quadrant and new-case filters hide points. `make test` installs the browser when missing.

Patients (ULN 1, so a value is its x ULN; day 0 is 2026-06-01), as of day 20:
  1  ALT 4 on day 10, TBIL 3 on day 12     -> potential Hy's law (upper right), new case on day 10
  2  ALT 5 on day 20, TBIL 0.8 on day 20   -> Temple's corollary (lower right), a new case on day 20
  3  ALT 0.5 and TBIL 0.5 on day 2         -> normal range
"""

from __future__ import annotations

import shutil

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from hepwatch.report.daily import build_daily_report
from tests.sql_harness import add_results, build_for_report, day, open_scratch

KEY = {n: f"pk_{n:0>20}" for n in (1, 2, 3)}


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    conn = open_scratch(root)
    add_results(
        conn,
        [
            (1, 10, "ALT", 4.0),
            (1, 12, "TBIL", 3.0),
            (2, 20, "ALT", 5.0),
            (2, 20, "TBIL", 0.8),
            (3, 2, "ALT", 0.5),
            (3, 2, "TBIL", 0.5),
        ],
    )
    build_for_report(conn)
    report = build_daily_report(conn, day(20))
    conn.close()
    html = root / "report.html"
    html.write_text(report.html)
    return html


@pytest.fixture(scope="module")
def browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, (
        "Chromium and chromedriver are needed (apt-get install chromium chromium-driver)"
    )
    options = Options()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1300,2000"):
        options.add_argument(argument)
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    try:
        yield chrome
    finally:
        chrome.quit()


def point(browser, patient: int):
    return browser.find_element(By.CSS_SELECTOR, f'#edish circle[data-key="{KEY[patient]}"]')


def visible_points(browser) -> set[str]:
    return {
        c.get_attribute("data-key")
        for c in browser.find_elements(By.CSS_SELECTOR, "#edish circle[data-key]")
        if c.value_of_css_property("display") != "none"
    }


def test_hover_shows_the_points_key_peaks_and_dates(browser, page):
    browser.get(page.as_uri())
    assert visible_points(browser) == set(KEY.values())
    ActionChains(browser).move_to_element(point(browser, 1)).perform()
    tip = browser.find_element(By.ID, "edish-tip").text
    assert tip == (
        f"{KEY[1]} | peak ALT 4.00 x ULN on 2026-06-11 | peak TBIL 3.00 x ULN on 2026-06-13 | potential Hy's law"
    )


def test_a_click_draws_that_patients_trajectory(browser, page):
    browser.get(page.as_uri())
    point(browser, 1).click()
    chart = browser.find_element(By.CSS_SELECTOR, f'#edish-trajectory svg[data-trajectory="{KEY[1]}"]')
    analytes = {p.get_attribute("data-analyte") for p in chart.find_elements(By.CSS_SELECTOR, "path")}
    assert analytes == {"ALT", "TBIL"}
    assert len(chart.find_elements(By.CSS_SELECTOR, "circle")) == 2  # one ALT, one TBIL result
    browser.save_screenshot(str(page.with_name("edish-click.png")))


def test_filters_by_quadrant_and_new_cases(browser, page):
    browser.get(page.as_uri())
    browser.find_element(By.CSS_SELECTOR, '#edish input[data-quadrant="normal_range"]').click()
    assert visible_points(browser) == {KEY[1], KEY[2]}
    assert browser.find_element(By.CSS_SELECTOR, "#edish [data-shown]").text == "2"
    browser.find_element(By.CSS_SELECTOR, '#edish input[data-filter="new"]').click()
    assert visible_points(browser) == {KEY[2]}  # the only new case on day 20
