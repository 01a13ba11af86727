"""The HTML report of a failing generator, checked as a maintainer would use it: in headless Chromium.

The failing generator is examples/nonconformant/per_message.py over every record. The page's numbers are checked
against the JSON report of the same run, and its causes against a grouping computed here from the JSON's typed
fields. Browser tests need Debian's ``chromium`` and ``chromium-driver`` and selenium (a test dependency); they
skip with the reason when those are absent, and fail instead when LOSSMASK_REQUIRE_BROWSER=1 (as .ci/run sets).
Screenshots go to $LOSSMASK_ARTIFACTS (nox -s tests: .nox/reports/browser) or a pytest temporary directory; the
path is printed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lossmask.runner import Selection, reports, run
from lossmask.runner.engine import Run
from lossmask.runner.html_report import anchor, write_html
from lossmask.runner.verdict import FAILING

PER_MESSAGE = Path(__file__).resolve().parents[1] / "examples" / "nonconformant" / "per_message.py"
MAX_BYTES = 3_000_000
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                  "--window-size=1400,1000", "--hide-scrollbars")


def _browser_missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        return "no chromium on PATH (Debian: apt-get install chromium chromium-driver)"
    if not shutil.which("chromedriver"):
        return "no chromedriver on PATH (Debian: apt-get install chromium-driver)"
    return None


class Page(HTMLParser):
    """Ids on the page, and links by the id of the section they are in."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: dict[str, list[str]] = defaultdict(list)
        self.external: list[str] = []
        self._sections: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "section":
            self._sections.append(a.get("id", ""))
        for key in ("href", "src"):
            value = a.get(key)
            if value and not value.startswith("#"):
                self.external.append(value)
        if tag == "a" and a.get("href", "").startswith("#") and self._sections:
            self.links[self._sections[-1]].append(a["href"][1:])
        if tag == "link" or (tag == "script" and "src" in a):
            self.external.append(str(a))

    def handle_endtag(self, tag):
        if tag == "section" and self._sections:
            self._sections.pop()


@pytest.fixture(scope="module")
def reports_dir(tmp_path_factory):
    """The per_message generator over every record: JSON and HTML, plus a three-template excerpt of the run."""
    out = tmp_path_factory.mktemp("reports")
    outcome = run(f"{PER_MESSAGE}:generate", Selection(), jobs=2)
    reports.write_json(outcome, out / "all.json")
    write_html(outcome, out / "all.html")
    few = [r for r in outcome.results if (r.family, r.variant) in
           {("qwen3_5", "default"), ("llama3", "default"), ("mistral_nemo", "default")}]
    excerpt = Run(outcome.spec, outcome.generator, outcome.profile, few, outcome.seconds)
    reports.write_json(excerpt, out / "few.json")
    write_html(excerpt, out / "few.html")
    reference = run("reference", Selection(families=["qwen2_5"], categories=["single_turn"]))
    write_html(reference, out / "reference.html")
    return out


def test_all_records_report_is_small_offline_and_links_every_failing_case(reports_dir):
    page = (reports_dir / "all.html").read_text(encoding="utf-8")
    size = len(page.encode("utf-8"))
    print(f"all-records report of per_message: {size} bytes")
    assert size < MAX_BYTES
    data = json.loads((reports_dir / "all.json").read_text(encoding="utf-8"))
    failing = [r for r in data["results"] if r["verdict"] in FAILING]
    # every failing verdict (the generator's failures, environment, not_judged) is in one cause group
    assert len(failing) == sum(c["records"] for c in data["summary"]["causes"]) > 400
    parsed = Page(page)
    assert parsed.external == []  # nothing fetched: no stylesheet, script, image or link off the page
    from_summary = set(parsed.links["causes"])
    for r in failing:
        anchor = case_anchor_of(r)
        assert anchor in parsed.ids and anchor in from_summary, anchor


def case_anchor_of(record: dict) -> str:
    return anchor("c", record["family"], record["variant"], record["case"])


def independent_causes(data: dict) -> dict[tuple, set[str]]:
    """The failing records grouped here from the JSON's typed fields (not from the report's own grouping)."""
    groups: dict[tuple, set[str]] = defaultdict(set)
    for r in data["results"]:
        if r["verdict"] not in FAILING:
            continue
        d = r["details"]
        if r["verdict"] == "mask_mismatch":
            key = ("mask_mismatch", tuple(sorted(d["over_supervised"])), tuple(sorted(d["under_supervised"])))
        elif r["verdict"] == "token_divergence":
            ops = d.get("supervised_text_diff", [])
            key = ("token_divergence", d.get("first_difference") is not None, any(o["actual"] for o in ops),
                   any(o["expected"] for o in ops))
        elif r["verdict"] in ("error", "not_judged"):
            key = (r["verdict"], d["generator_message"] or r["message"], d["answer"] if r["verdict"] == "error" else None)
        elif r["verdict"] == "environment":
            key = ("environment", r["environment"][0])
        else:
            key = (r["verdict"],)
        groups[key].add(f"{r['family']}/{r['variant']}/{r['case']}")
    return groups


def test_json_causes_partition_the_failures_as_their_typed_fields_do(reports_dir):
    data = json.loads((reports_dir / "all.json").read_text(encoding="utf-8"))
    causes = data["summary"]["causes"]
    s = data["summary"]
    assert sum(c["records"] for c in causes) == s["failed"] + s["environment"] + s["not_judged"]
    assert sorted(map(frozenset, independent_causes(data).values()), key=sorted) == \
        sorted((frozenset(c["cases"]) for c in causes), key=sorted)
    for c in causes:
        assert c["records"] == len(c["cases"])
        assert c["templates"] == sorted({k.rsplit("/", 1)[0] for k in c["cases"]})


# -- in the browser ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def artifacts(tmp_path_factory, request):
    where = os.environ.get("LOSSMASK_ARTIFACTS")
    path = Path(where).resolve() if where else tmp_path_factory.mktemp("browser")
    path.mkdir(parents=True, exist_ok=True)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter:
        reporter.write_line(f"browser screenshots: {path}")
    return path


def _chrome(javascript: bool = True):
    missing = _browser_missing()
    if missing:
        if os.environ.get("LOSSMASK_REQUIRE_BROWSER") == "1":
            pytest.fail(f"LOSSMASK_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tempfile.mkdtemp(prefix='lossmask-chromium-')}"):
        options.add_argument(flag)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


@pytest.fixture(scope="module")
def browser():
    driver = _chrome()
    yield driver
    driver.quit()


def _in_view(driver, element) -> bool:
    return driver.execute_script(
        "const r = arguments[0].getBoundingClientRect();"
        "return r.top > -2 && r.top < window.innerHeight && r.height > 0;", element)


def _box(element) -> tuple[float, float]:
    rect = element.rect
    return rect["width"], rect["height"]


def test_summary_links_land_on_the_case_and_the_separator_is_visible(browser, reports_dir, artifacts):
    from selenium.webdriver.common.by import By

    data = json.loads((reports_dir / "few.json").read_text(encoding="utf-8"))
    browser.get((reports_dir / "few.html").as_uri())
    browser.save_screenshot(str(artifacts / "summary.png"))
    # The cause whose mask supervises the separator after end-of-turn, from the JSON's typed fields.
    cause = next(c for c in data["summary"]["causes"] if "separator" in c["over_supervised"])
    browser.find_element(By.CSS_SELECTOR, f"#cause-table a[href='#{cause['cause']}']").click()
    block = browser.find_element(By.ID, cause["cause"])
    assert _in_view(browser, block)
    browser.save_screenshot(str(artifacts / "cause-group.png"))
    target = anchor("c", *cause["cases"][0].split("/"))
    block.find_element(By.CSS_SELECTOR, f"a[href='#{target}']").click()
    assert browser.execute_script("return location.hash") == f"#{target}"
    landed = browser.find_element(By.ID, target)
    assert browser.execute_script("return document.querySelector(':target') === arguments[0]", landed)
    assert landed.get_attribute("open") is not None and _in_view(browser, landed)
    separators = [t for t in landed.find_elements(By.CSS_SELECTOR, ".render .t.d")
                  if t.get_attribute("title").endswith(" separator")]
    assert separators, "the differing separator token is drawn as a token box"
    width, height = _box(separators[0])
    assert width > 0 and height > 0 and "⏎" in separators[0].text
    browser.save_screenshot(str(artifacts / "separator-case.png"))
    separators[0].screenshot(str(artifacts / "separator-token.png"))


def test_groups_and_counts_on_the_page_match_the_json_report(browser, reports_dir):
    from selenium.webdriver.common.by import By

    data = json.loads((reports_dir / "all.json").read_text(encoding="utf-8"))
    browser.get((reports_dir / "all.html").as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    rows = browser.find_elements(By.CSS_SELECTOR, "#cause-table tr[data-cause]")
    assert [r.get_attribute("data-cause") for r in rows] == [c["cause"] for c in data["summary"]["causes"]]
    for row, cause in zip(rows, data["summary"]["causes"]):
        assert int(row.find_element(By.CSS_SELECTOR, "td.records").text) == cause["records"]
        assert int(row.find_element(By.CSS_SELECTOR, "td.templates").text) == len(cause["templates"])
        linked = browser.execute_script(
            "return [...document.getElementById(arguments[0]).querySelectorAll('dd a')].map(a => a.hash.slice(1))",
            cause["cause"])
        assert len(linked) == cause["records"]
    cases = browser.find_elements(By.CSS_SELECTOR, "details.case")
    assert len(cases) == sum(r["verdict"] in FAILING for r in data["results"])
    # one click from the summary: the links in the causes section that land on a case block, as the browser
    # resolves them, are exactly the failing records of the JSON report
    landing = browser.execute_script(
        "return [...document.querySelectorAll('#causes a[href^=\"#\"]')].map(a => document.getElementById("
        "decodeURIComponent(a.hash.slice(1)))).filter(e => e && e.matches('details.case')).map(e => e.id)")
    assert set(landing) == {case_anchor_of(r) for r in data["results"] if r["verdict"] in FAILING}
    cell = browser.find_element(By.CSS_SELECTOR, "table.grid td.f a")
    target = cell.get_attribute("hash")[1:]
    cell.click()
    heading = browser.find_element(By.ID, target)
    assert heading.tag_name == "h4" and _in_view(browser, heading)
    family_variant, category = heading.find_element(By.XPATH, "preceding::h3[1]").text, heading.text
    listed = browser.execute_script(
        "const out = []; for (let e = arguments[0].nextElementSibling; e && e.matches('details.case');"
        " e = e.nextElementSibling) out.push(e.id); return out;", heading)
    failing_here = [case_anchor_of(r) for r in data["results"] if r["verdict"] in FAILING
                    and f"{r['family']}/{r['variant']}" == family_variant and r["category"] == category]
    assert listed == failing_here and int(cell.text.split("/")[1]) - int(cell.text.split("/")[0]) >= len(listed)
    totals = browser.find_element(By.ID, "totals").text
    assert f"{data['summary']['failed']} failed" in totals and f"{data['summary']['passed']} passed" in totals


def test_divergence_aligns_both_streams_and_errors_show_the_error(browser, reports_dir, artifacts):
    from selenium.webdriver.common.by import By

    data = json.loads((reports_dir / "few.json").read_text(encoding="utf-8"))
    diverged = next(r for r in data["results"] if r["verdict"] == "token_divergence" and r["details"].get("first_difference") is not None)
    browser.get((reports_dir / "few.html").as_uri() + "#" + case_anchor_of(diverged))
    case = browser.find_element(By.ID, case_anchor_of(diverged))
    assert case.get_attribute("open") is not None and _in_view(browser, case)
    first = case.find_element(By.CSS_SELECTOR, "table.stream th.first")
    assert first.text == f"#{diverged['details']['first_difference']}"
    rows = case.find_elements(By.CSS_SELECTOR, "table.stream tr")
    assert [r.find_element(By.TAG_NAME, "th").text for r in rows[1:]] == ["render", "generator"]
    assert case.find_elements(By.CSS_SELECTOR, "td.x"), "tokens that differ from the render are marked"
    browser.save_screenshot(str(artifacts / "divergence-case.png"))
    failed = next(r for r in data["results"] if r["verdict"] == "error")
    browser.get((reports_dir / "few.html").as_uri() + "#" + case_anchor_of(failed))
    case = browser.find_element(By.ID, case_anchor_of(failed))
    assert case.find_element(By.CSS_SELECTOR, ".said").text == failed["message"]
    assert case.find_elements(By.CSS_SELECTOR, ".render, .both, .generator, .expected") == []
    browser.save_screenshot(str(artifacts / "error-case.png"))


def test_passing_report_has_no_red_and_no_legend(browser, reports_dir, artifacts):
    from selenium.webdriver.common.by import By

    browser.get((reports_dir / "reference.html").as_uri())
    assert "none failed" in browser.find_element(By.ID, "totals").text
    assert browser.find_elements(By.CSS_SELECTOR, ".bad, .legend, #causes, details.case") == []
    browser.save_screenshot(str(artifacts / "reference.png"))


def test_without_javascript_links_still_reach_the_case(reports_dir):
    from selenium.webdriver.common.by import By

    driver = _chrome(javascript=False)
    try:
        data = json.loads((reports_dir / "few.json").read_text(encoding="utf-8"))
        driver.get((reports_dir / "few.html").as_uri())
        assert driver.find_element(By.ID, "filter").get_attribute("hidden") is not None  # the filter needs JS
        target = anchor("c", *data["summary"]["causes"][0]["cases"][0].split("/"))
        driver.find_element(By.CSS_SELECTOR, f"#causes a[href='#{target}']").click()
        landed = driver.find_element(By.ID, target)
        assert driver.execute_script("return document.querySelector(':target') === arguments[0]", landed)
        assert _in_view(driver, landed)
        landed.find_element(By.TAG_NAME, "summary").click()
        assert landed.get_attribute("open") is not None
    finally:
        driver.quit()


def test_long_conversations_fold_and_the_filter_narrows_the_cases(browser, reports_dir, artifacts):
    from selenium.webdriver.common.by import By

    data = json.loads((reports_dir / "all.json").read_text(encoding="utf-8"))
    longest = max((r for r in data["results"] if r["verdict"] == "mask_mismatch"),
                  key=lambda r: len(r["details"]["actual_mask"]))
    browser.get((reports_dir / "all.html").as_uri() + "#" + case_anchor_of(longest))
    case = browser.find_element(By.ID, case_anchor_of(longest))
    tokens = len(longest["details"]["actual_mask"])
    boxed = browser.execute_script(
        "return [...arguments[0].querySelectorAll('.render .t')].filter(t => t.getClientRects().length).length", case)
    assert 0 < boxed < tokens / 2  # folded to the regions around differences
    fold = case.find_element(By.CSS_SELECTOR, "details.fold")
    closed = fold.size["height"]
    fold.find_element(By.TAG_NAME, "summary").click()
    assert fold.get_attribute("open") is not None and fold.size["height"] > closed
    browser.save_screenshot(str(artifacts / "long-case-fold-open.png"))
    query = browser.find_element(By.ID, "q")
    query.send_keys("long_agent_trajectory")
    shown = browser.execute_script(
        "return [...document.querySelectorAll('details.case')].filter(d => !d.hidden).map(d => d.id)")
    expected = {case_anchor_of(r) for r in data["results"]
                if r["case"] == "long_agent_trajectory" and r["verdict"] in FAILING}
    assert set(shown) == expected
