"""Check every link, anchor and image of the built site, offline: ``python scripts/check_docs_links.py [site]``.

MkDocs' ``--strict`` validates the links written in the markdown; this reads what a browser gets, the
built HTML, so links made by the theme, by mkdocstrings and by the generated pages are checked too:

- every ``href`` and ``src`` inside the site points at a file that exists (a directory URL at its
  ``index.html``), and every ``#fragment`` at an ``id`` (or ``name``) on the target page;
- no page refers to anything outside the site (``http(s)://`` and protocol-relative URLs), so the site
  works offline and nothing downloads while it is read — except links a reader follows by hand
  (``<a href>`` to another website), which are listed, not failed.

Exit status 1 and one line per problem when something is broken.
"""

from __future__ import annotations

import argparse
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

DEFAULT_SITE = Path(__file__).resolve().parents[1] / "site"


class _Page(HTMLParser):
    """The ids of one page and the URLs it refers to, as (tag, attribute, url)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v for k, v in attrs if v is not None}
        for key in ("id", "name") if tag != "meta" else ():
            if key in values:
                self.ids.add(values[key])
        for key in ("href", "src"):
            if key in values:
                self.refs.append((tag, key, values[key]))


def _target(site: Path, page: Path, path: str) -> Path:
    base = page.parent if path and not path.startswith("/") else site
    target = (base / unquote(path).lstrip("/")).resolve()
    return target / "index.html" if target.is_dir() or path.endswith("/") else target


def check_site(site: Path) -> tuple[list[str], list[str]]:
    """(problems, external links followed by hand) of the built site in ``site``."""
    site = site.resolve()
    pages = {path: _Page() for path in sorted(site.rglob("*.html"))}
    if not pages:
        return [f"{site}: no HTML pages (build the site first: mkdocs build --strict)"], []
    for path, parser in pages.items():
        parser.feed(path.read_text(encoding="utf-8"))
    problems, external = [], []
    for page, parser in pages.items():
        where = page.relative_to(site).as_posix()
        for tag, attribute, url in parser.refs:
            parts = urlsplit(url)
            if parts.scheme in ("mailto", "javascript", "data"):
                continue
            if parts.scheme or url.startswith("//"):
                if tag == "a" and attribute == "href":
                    external.append(f"{where}: {url}")
                else:
                    problems.append(f"{where}: <{tag} {attribute}> loads {url} from outside the site")
                continue
            target = _target(site, page, parts.path) if parts.path else page
            if not target.is_relative_to(site):
                problems.append(f"{where}: {url} points outside the site")
            elif not target.exists():
                problems.append(f"{where}: {url} is broken (no {target.relative_to(site).as_posix()})")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else set()
                if unquote(parts.fragment) not in ids:
                    problems.append(f"{where}: {url} has no anchor #{parts.fragment} on its page")
    return problems, sorted(set(external))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", nargs="?", type=Path, default=DEFAULT_SITE, help="the built site")
    args = parser.parse_args(argv)
    problems, external = check_site(args.site)
    pages = len(list(args.site.rglob("*.html")))
    for line in problems:
        print(line)
    print(f"{pages} pages, {len(problems)} broken links or anchors, {len(external)} links to other websites")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
