"""Open every page of the built site in headless Chromium, as a visitor would, and check what it shows.

    apt-get install -y chromium chromium-driver     # Debian's browser and driver; nothing downloads one
    pip install -e ".[docs]"                          # mkdocs and selenium
    python scripts/check_docs_browser.py              # builds the site, serves it, checks every page

The site is built with ``mkdocs build --strict`` (``--no-build`` reuses ``site/``), checked offline by
``scripts/check_docs_links.py``, served on localhost, and each page it holds opened in
headless Chromium (driven by Selenium through ``/usr/bin/chromedriver``). A page passes when:

- it loads with HTTP 200 and the browser logs no error (a missing file, a script that failed);
- every ``<img>`` (plots, the gallery's animations) has loaded with a non-zero natural size;
- every link to the site points at a page or file that the server has, and every ``#anchor`` at an
  element of the target page as the browser built it.

Then the site's search (the theme's own, in the browser) must return the env pages for "highway". A
screenshot of every page goes to ``site-screenshots/`` (git-ignored), so a person can look at what a
visitor sees. Exit status 1 with one line per problem.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urldefrag

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "site"
SHOTS = REPO / "site-screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SEARCH_TERM, SEARCH_MUST_FIND = "highway", "envs/highway/"

# What the browser reports on each page: its images, its links and the ids of its elements.
PAGE_FACTS = """
return {
  images: Array.from(document.images).map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0})),
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  ids: Array.from(document.querySelectorAll('[id], a[name]')).map(e => e.id || e.name),
  height: document.documentElement.scrollHeight,
};
"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # the check prints its own lines
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a browser that stopped reading: fine
            super().handle_error(request, client_address)


def serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def page_urls(site: Path, root: str) -> list[str]:
    """Every page the build wrote (each ``…/index.html`` at its directory URL), at the local server."""
    urls = []
    for page in sorted(site.rglob("*.html")):
        relative = page.relative_to(site).as_posix()
        if relative == "404.html":
            continue
        urls.append(root + (relative[: -len("index.html")] if relative.endswith("index.html") else relative))
    return urls


def browser() -> object:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def _shot_name(url: str, root: str) -> str:
    path = url[len(root) :].strip("/")
    return (path.replace("/", "__") or "index") + ".png"


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except Exception as error:  # noqa: BLE001 (the status is what we report)
        return getattr(error, "code", 0)


def check_pages(driver: object, urls: list[str], root: str, shots: Path) -> list[str]:
    problems: list[str] = []
    ids: dict[str, set[str]] = {}
    links: list[tuple[str, str]] = []
    for url in urls:
        where = url[len(root) :] or "/"
        if _status(url) != 200:
            problems.append(f"{where}: HTTP {_status(url)}")
            continue
        driver.get(url)
        for _ in range(50):  # images (animations) finish loading after readyState
            facts = driver.execute_script(PAGE_FACTS)
            if all(image["ok"] for image in facts["images"]):
                break
            time.sleep(0.1)
        problems += [f"{where}: image did not load: {i['src']}" for i in facts["images"] if not i["ok"]]
        for entry in driver.get_log("browser"):
            if entry.get("level") == "SEVERE":
                problems.append(f"{where}: browser error: {entry.get('message')}")
        ids[urldefrag(url)[0]] = set(facts["ids"])
        links += [(where, link) for link in facts["links"]]
        driver.set_window_size(1280, min(max(facts["height"], 800), 6000))
        driver.save_screenshot(str(shots / _shot_name(url, root)))
        driver.set_window_size(1280, 1000)
    checked: dict[str, int] = {}
    for where, link in links:
        if not link.startswith(root):
            continue  # another website: followed by hand, not checked here
        target, fragment = urldefrag(link)
        if target not in ids and target not in checked:
            checked[target] = _status(target)
        if target not in ids and checked[target] != 200:
            problems.append(f"{where}: broken link {link} (HTTP {checked[target]})")
        elif fragment and target in ids and fragment not in ids[target]:
            problems.append(f"{where}: link {link} has no anchor #{fragment} on its page")
    return problems


def check_search(driver: object, root: str, shots: Path) -> list[str]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(root)
    driver.execute_script("document.getElementById('__search').click()")  # opens the search dialog
    box = WebDriverWait(driver, 10).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "input.md-search__input"))
    )
    box.send_keys(SEARCH_TERM)
    try:
        WebDriverWait(driver, 20).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, ".md-search-result__item a[href]")
        )
    except Exception:  # noqa: BLE001 (reported below)
        pass
    found = [
        a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, ".md-search-result__item a")
    ]
    driver.save_screenshot(str(shots / f"search-{SEARCH_TERM}.png"))
    if not any(SEARCH_MUST_FIND in (href or "") for href in found):
        return [f"search for {SEARCH_TERM!r} did not return {SEARCH_MUST_FIND} (results: {found[:10]})"]
    print(f"search {SEARCH_TERM!r}: {len(found)} results, {SEARCH_MUST_FIND} among them")
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-build", action="store_true", help="check the site/ already built")
    parser.add_argument("--shots", type=Path, default=SHOTS, help=f"screenshot folder (default: {SHOTS})")
    args = parser.parse_args(argv)
    if not args.no_build:
        subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet"], cwd=REPO, check=True)
    sys.path.insert(0, str(REPO / "scripts"))
    from check_docs_links import check_site

    problems, _ = check_site(SITE)
    args.shots.mkdir(parents=True, exist_ok=True)
    server, root = serve(SITE)
    driver = browser()
    try:
        urls = page_urls(SITE, root)
        problems += check_pages(driver, urls, root, args.shots)
        problems += check_search(driver, root, args.shots)
    finally:
        driver.quit()
        server.shutdown()
    for line in problems:
        print(line)
    print(f"{len(urls)} pages opened in {CHROMIUM}, {len(problems)} problems; screenshots in {args.shots}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
