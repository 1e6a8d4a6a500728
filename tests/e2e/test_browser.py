"""The directory's pages in a real headless Chromium (Debian's package) against running services.

One browser and one stack (directory + matcher under gunicorn, over an embedded index this
module fills) serve every test here, so the module costs a few seconds, not a few per test.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from tests.e2e.buy_social_world import Members, buy_social_stack
from tests.e2e.processes import ROOT, Stack, embedded_env_with_directory

pytestmark = pytest.mark.slow

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
AXE = ROOT / "services/directory/frontend/node_modules/axe-core/axe.min.js"
ASSETS_BUILT = ROOT / "services/directory/assets/.built"
# Offline and quiet: no update checks, sync or first-run pages reaching for the network.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1000",
)
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert ASSETS_BUILT.exists() and AXE.exists(), "front-end assets missing: run `make assets`"
    tmp = tmp_path_factory.mktemp("browser")
    env = embedded_env_with_directory(tmp, "b")
    stack = Stack(env=env, log_dir=tmp)
    try:
        stack.env["DIRECTORY_MATCHER_URL"] = stack.start_service("matcher")
        yield stack.start_service("directory")
    finally:
        stack.stop_all()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip("Debian's chromium and chromium-driver are not installed (`make test` installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def result_names(driver: WebDriver) -> list[str]:
    return [h.text for h in driver.find_elements(By.CSS_SELECTOR, ".app-result h3")]


def page_replaced(old_page: WebElement) -> Callable[[WebDriver], bool]:
    """Selenium's staleness_of, but a node chromedriver already detached from the document also counts.

    Mid-navigation, chromedriver can answer "Node with given id does not belong to the document"
    instead of a stale-element error; both mean the old page is gone.
    """

    def replaced(_: WebDriver) -> bool:
        try:
            old_page.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error):
                return True
            raise
        return False

    return replaced


def submit(driver: WebDriver, button_text: str) -> None:
    """Click a form's button and wait for the next page: a click returns before navigation ends."""
    old_page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.XPATH, f"//button[normalize-space()='{button_text}']").click()
    WebDriverWait(driver, 30).until(page_replaced(old_page))


def test_search_filter_open_a_profile_and_share_the_url(site: str, browser: WebDriver) -> None:
    browser.get(site)
    browser.find_element(By.ID, "q").send_keys("cleaning")
    browser.find_element(By.ID, "postcode").send_keys("LS1 1UN")
    browser.find_element(By.ID, "radius_km").send_keys("30")
    submit(browser, "Search")
    # Both are cleaning firms; "Cleaners" is also a buyer's synonym of cleaning, which ranks Bradford's first.
    assert result_names(browser) == ["Bradford Cleaners Co-operative", "Sparkle Cleaning CIC"]
    assert "km away" in browser.find_element(By.CSS_SELECTOR, ".app-result").text

    browser.find_element(By.CSS_SELECTOR, "label[for^='legal_form-']:not([for=''])")  # facets are shown
    browser.find_element(By.XPATH, "//label[starts-with(normalize-space(), 'Co-operative')]").click()
    submit(browser, "Apply filters")
    assert "legal_form=cooperative" in browser.current_url
    assert result_names(browser) == ["Bradford Cleaners Co-operative"]
    shared = browser.current_url

    browser.find_element(By.LINK_TEXT, "Bradford Cleaners Co-operative").click()
    WebDriverWait(browser, 30).until(expected_conditions.title_contains("Bradford Cleaners Co-operative"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Bradford Cleaners Co-operative"
    assert "Last updated" in browser.page_source

    browser.switch_to.new_window("window")  # a fresh page given only the address
    try:
        browser.get(shared)
        assert result_names(browser) == ["Bradford Cleaners Co-operative"]
        assert browser.find_element(By.ID, "q").get_attribute("value") == "cleaning"
    finally:
        browser.close()
        browser.switch_to.window(browser.window_handles[0])


def test_search_works_without_javascript(site: str, browser: WebDriver) -> None:
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        browser.get(f"{site}/?q=cleaning")
        assert "js-enabled" not in (browser.find_element(By.TAG_NAME, "body").get_attribute("class") or "")
        browser.find_element(By.XPATH, "//label[starts-with(normalize-space(), 'Community interest')]").click()
        submit(browser, "Apply filters")
        assert result_names(browser) == ["Sparkle Cleaning CIC"]
    finally:
        browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


def test_postcode_suggestions_fill_as_the_user_types(site: str, browser: WebDriver) -> None:
    browser.get(site)
    browser.find_element(By.ID, "postcode").send_keys("leeds")
    options: Any = browser.execute_async_script(
        "const done = arguments[arguments.length - 1], list = document.getElementById('postcode-suggestions');"
        "const poll = () => list.options.length ? done([...list.options].map(o => o.value)) : setTimeout(poll, 50);"
        "poll();"
    )
    assert options[:2] == ["LS1", "LS2"]


def axe_violations(driver: WebDriver) -> list[dict[str, Any]]:
    """Serious and critical WCAG 2.2 A/AA violations axe-core finds on the current page."""
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    report: dict[str, Any] = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}}).then(done, e => done({error: String(e)}));",
        WCAG_TAGS,
    )
    assert "error" not in report, report
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in report["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_pages_have_no_serious_accessibility_violations(site: str, browser: WebDriver) -> None:
    browser.set_script_timeout(30)
    browser.get(f"{site}/?q=cleaning&postcode=LS1&radius_km=50&legal_form=cic")
    assert result_names(browser) and axe_violations(browser) == []
    browser.get(f"{site}/suppliers/t:clean-leeds")
    assert axe_violations(browser) == []
    browser.get(f"{site}/?postcode=nowhere")  # the error summary and inline errors
    assert axe_violations(browser) == []

    browser.get(f"{site}/lots")
    browser.find_element(By.ID, "title").send_keys("Office cleaning")
    browser.find_element(By.ID, "postcode").send_keys("LS1 1UN")
    browser.find_element(By.XPATH, "//label[normalize-space()='Employment']").click()
    submit(browser, "Find suppliers")
    assert "Suppliers for “Office cleaning”" in browser.page_source
    assert "Sparkle Cleaning CIC" in browser.page_source
    assert axe_violations(browser) == []


@pytest.fixture(scope="module")
def buy_social_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Members]]:
    """A second stack whose stores hold one organisation's Buy Social data (`site` has none)."""
    with buy_social_stack(tmp_path_factory.mktemp("browser-buy-social")) as served:
        yield served


def test_buy_social_page_has_no_serious_accessibility_violations(
        buy_social_site: tuple[str, Members], browser: WebDriver) -> None:
    site, members = buy_social_site
    browser.set_script_timeout(30)
    browser.get(f"{site}/buy-social")
    assert axe_violations(browser) == []
    submit(browser, "Show progress")  # empty: the error summary and inline errors
    assert "Enter your API key" in browser.page_source and axe_violations(browser) == []

    browser.find_element(By.ID, "organisation_id").send_keys(members.org)
    browser.find_element(By.ID, "api_key").send_keys(members.key)
    submit(browser, "Show progress")
    assert "api_key" not in browser.current_url and members.key not in browser.current_url
    assert browser.find_element(By.CSS_SELECTOR, "figure img").get_attribute("alt")
    assert "Sparkle Cleaning CIC" in browser.page_source  # the suggestion awaiting confirmation
    assert axe_violations(browser) == []


def test_find_partners_form_gives_partners_with_what_they_add(site: str, browser: WebDriver) -> None:
    browser.set_script_timeout(30)
    browser.get(f"{site}/partners")
    browser.find_element(By.ID, "name").send_keys("Builder plc")
    browser.find_element(By.XPATH, "//label[normalize-space()='Private business']").click()
    browser.find_element(By.ID, "cpv_codes").send_keys("45000000")
    browser.find_element(By.ID, "postcode").send_keys("LS1 1UN")
    browser.find_element(By.ID, "capabilities").send_keys("grounds maintenance and landscaping")
    radius = browser.find_element(By.ID, "radius_km")
    radius.clear()
    radius.send_keys("60")
    submit(browser, "Find partners")
    assert "sector=private" in browser.current_url  # a GET search: the answer can be shared
    assert result_names(browser)[0] == "Green Spaces Training"
    assert "What they add" in browser.page_source
    assert axe_violations(browser) == []

    browser.find_element(By.LINK_TEXT, "Green Spaces Training").click()
    WebDriverWait(browser, 30).until(expected_conditions.title_contains("Green Spaces Training"))

    browser.get(f"{site}/partners?capabilities=x")  # the error summary and inline errors
    assert "There is a problem" in browser.page_source
    assert axe_violations(browser) == []


def test_build_a_consortium_form_without_javascript(site: str, browser: WebDriver) -> None:
    browser.set_script_timeout(30)
    browser.get(f"{site}/consortia")
    browser.find_element(By.ID, "requirements").send_keys(
        "Office cleaning 90910000\nGrounds maintenance 77314000\nLegal advice 79100000"
    )
    browser.find_element(By.ID, "postcode").send_keys("LS1 1UN")
    browser.find_element(By.ID, "value").send_keys("150000")
    submit(browser, "Build consortia")
    assert "Proposal 1: 2 members, covers 2 of 3" in browser.page_source
    assert "No supplier in the directory covers Legal advice" in browser.page_source
    members = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#main-content table a")]
    assert {"Sparkle Cleaning CIC", "Green Spaces Training"} <= set(members)
    assert axe_violations(browser) == []
    shared = browser.current_url

    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        browser.get(shared)  # the same proposals from the address alone, with no scripts
        assert "Proposal 1: 2 members, covers 2 of 3" in browser.page_source
        browser.find_element(By.ID, "postcode").clear()
        submit(browser, "Build consortia")
        assert "There is a problem" in browser.page_source
    finally:
        browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
    assert axe_violations(browser) == []
