"""Measure an HTML report of ``lossmask check`` in headless Chromium and take the screenshots a reviewer reads.

Prints the page's size in bytes and its load time (median of ``--loads`` fresh loads: navigation start to the
load event, from the browser's Navigation Timing), and writes 1400 px wide screenshots into OUT: the summary,
the first cause group of a verdict, the first token divergence, and the first error case, each found from the
JSON report of the same run (so the shots show what the JSON says). Needs selenium and Debian's ``chromium`` and
``chromium-driver``.

    lossmask check examples/nonconformant/per_message.py:generate --json all.json --html all.html
    python tools/report_screenshots.py all.html all.json shots/
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from lossmask.runner.html_report import anchor

FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars")


def chrome(width: int, height: int) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    for flag in (*FLAGS, f"--window-size={width},{height}", f"--user-data-dir={tempfile.mkdtemp(prefix='lm-chrome-')}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("html", type=Path)
    parser.add_argument("json", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    data = json.loads(args.json.read_text(encoding="utf-8"))
    uri = args.html.resolve().as_uri()
    print(f"{args.html}: {args.html.stat().st_size} bytes, {len(data['results'])} records, "
          f"{len(data['summary']['causes'])} causes")
    driver = chrome(args.width, args.height)
    try:
        times = []
        for _ in range(args.loads):
            driver.get("about:blank")
            driver.get(uri)
            nav = driver.execute_script("const n = performance.getEntriesByType('navigation')[0];"
                                        "return [n.domContentLoadedEventEnd, n.loadEventEnd];")
            times.append(nav)
        dcl = statistics.median(t[0] for t in times)
        load = statistics.median(t[1] for t in times)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        print(f"load in headless Chromium: DOMContentLoaded {dcl:.0f} ms, load event {load:.0f} ms "
              f"(median of {args.loads}); page {height} px tall at {args.width} px")
        driver.get(uri)
        driver.save_screenshot(str(args.out / "summary.png"))

        def case(r: dict) -> str:
            return anchor("c", r["family"], r["variant"], r["case"])

        shots = {}
        causes = data["summary"]["causes"]
        sep = next((c for c in causes if "separator" in c.get("over_supervised", [])), causes[0] if causes else None)
        if sep:
            shots["cause-group"] = sep["cause"]
        diverged = next((r for r in data["results"] if r["verdict"] == "token_divergence"
                         and r["details"].get("first_difference") is not None), None)
        if diverged:
            shots["divergence-case"] = case(diverged)
        error = next((r for r in data["results"] if r["verdict"] in ("error", "timeout", "not_judged")), None)
        if error:
            shots["error-case"] = case(error)
        mismatch = next((r for r in data["results"] if r["verdict"] == "mask_mismatch"
                         and "separator" in r["details"]["over_supervised"]), None)
        if mismatch:
            shots["separator-case"] = case(mismatch)
        for name, target in shots.items():
            driver.get("about:blank")
            driver.get(f"{uri}#{target}")
            driver.save_screenshot(str(args.out / f"{name}.png"))
            print(f"{name}.png: #{target}")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
