"""The course website (issue 28): scripts/build_book.py builds build/site/ from the stored notebooks, offline.

The site is built once per session into a temporary folder (a few seconds). The static checks need only the
`[book]` extra; the browser checks also need Playwright and Chromium, like tests/test_browser.py.
"""
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from functools import partial
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import build_book  # noqa: E402  (standard library only; Sphinx runs in its own process)

LABS = sorted((REPO / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((REPO / "solutions").glob("*.ipynb"))
NOTEBOOKS = [("notebooks", p) for p in LABS] + [("solutions", p) for p in SOLUTIONS]


class Page(HTMLParser):
    """The tags of one HTML page that matter here: links, loaded resources, element ids, visible text."""

    def __init__(self):
        super().__init__()
        self.anchors, self.resources, self.ids, self.text, self._skip = [], [], set(), [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.anchors.append(attrs["href"])
        elif tag in ("script", "img", "iframe", "source") and attrs.get("src"):
            self.resources.append(attrs["src"])
        elif tag == "link" and attrs.get("href") and "stylesheet" in attrs.get("rel", "") + attrs.get("as", ""):
            self.resources.append(attrs["href"])
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def parse(path):
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def image_outputs(path):
    """How many stored figures (image/png or image/jpeg outputs) a notebook holds."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    return sum(1 for c in nb["cells"] for o in c.get("outputs", [])
               if {"image/png", "image/jpeg"} & set(o.get("data", {})))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    for module in ("myst_nb", "sphinx_book_theme"):
        pytest.importorskip(module, reason="the site's tools are not installed (pip install -e .[book])")
    root = tmp_path_factory.mktemp("book")
    pages = build_book.build(out=root / "site", src=root / "src")
    return root / "site", pages


def words(text):
    """The letters and digits of a text, one space between words (markup, quotes and punctuation left out)."""
    return " ".join(re.findall(r"\w+", text))


def pages_of(site_dir):
    return sorted(p for p in site_dir.rglob("*.html") if "_static" not in p.parts)


# ---- building blocks -----------------------------------------------------------------------------------------

def test_progress_output_is_cut_to_its_final_line():
    bar = "train:  {0:3d}%|{1:<10}| {2}/10 [00:0{2}<00:00, 9.9it/s]"
    text = "".join("\r" + bar.format(10 * i, "#" * i, i) for i in range(11)) + "\nloss 0.25\n"
    assert build_book.trim_progress(text) == bar.format(100, "#" * 10, 10) + "\nloss 0.25\n"
    lines = "\n".join(bar.format(10 * i, "#" * i, i) for i in range(4)) + "\ndone"
    assert build_book.trim_progress(lines) == bar.format(30, "###", 3) + "\ndone"
    assert build_book.trim_progress("epoch 1 0.5\nepoch 2 0.4\n") == "epoch 1 0.5\nepoch 2 0.4\n"


def test_widget_views_become_their_static_fallback():
    state = {"h": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_d", "IPY_MODEL_p", "IPY_MODEL_t"]}},
             "d": {"model_name": "HTMLModel", "state": {"value": "stage\u20071:\u2007100%"}},
             "p": {"model_name": "FloatProgressModel", "state": {"value": 55.0, "max": 55.0}},
             "t": {"model_name": "HTMLModel", "state": {"value": " 55/55 [00:03<00:00]"}}}
    view = {build_book.WIDGET_VIEW: {"model_id": "h", "version_major": 2}}
    nb = {"metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": {"state": state}}},
          "cells": [{"cell_type": "code", "source": "", "outputs": [
              {"output_type": "display_data", "data": dict(view, **{"text/plain": "  0%|          | 0/55"})},
              {"output_type": "display_data", "data": {build_book.WIDGET_VIEW: {"model_id": "e"},
                                                    "image/png": "iVBOR", "text/plain": "<Fig>"},
               "metadata": {}},
              {"output_type": "display_data", "data": {build_book.WIDGET_VIEW: {"model_id": "x"}}}]},
              {"cell_type": "markdown", "source": "[![Open in Colab](https://colab.research.google.com/assets/"
                                                  "colab-badge.svg)](https://colab.research.google.com/github/o/r)"}]}
    page = build_book.clean_notebook(nb, "https://github.com/o/r")
    assert "widgets" not in page["metadata"] and "widgets" in nb["metadata"]   # the original is left alone
    bar, figure = page["cells"][0]["outputs"]
    assert bar["data"] == {"text/plain": "stage 1: 100%|" + "\u2588" * 10 + "| 55/55 [00:03<00:00]"}
    assert figure["data"] == {"image/png": "iVBOR", "text/plain": "<Fig>"}
    assert page["cells"][1]["source"] == "[Open in Colab](https://colab.research.google.com/github/o/r)"


def test_a_new_notebook_gets_its_page_without_a_list(tmp_path):
    """A notebook the README's table does not name yet (say 04b) still gets its page, home-page entry and
    toctree line; its solutions go to the solutions section."""
    for folder, path in NOTEBOOKS:
        (tmp_path / "repo" / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / "repo" / folder / path.name).symlink_to(path)
    shutil.copy(REPO / "README.md", tmp_path / "repo")
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# 04b · Grad-CAM\n\nWhere else it looks."}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    for name in ("notebooks/04b_gradcam.ipynb", "solutions/04b_gradcam_solutions.ipynb"):
        (tmp_path / "repo" / name).write_text(json.dumps(nb))
    staged = build_book.stage(tmp_path / "src", "https://github.com/o/r", root=tmp_path / "repo")
    assert len(staged) == len(NOTEBOOKS) + 2
    home = (tmp_path / "src" / "index.md").read_text()
    assert "| [`04b_gradcam`](notebooks/04b_gradcam.ipynb) | 04b · Grad-CAM | [solutions]" in home
    assert "Where else it looks." in home and "\nnotebooks/04b_gradcam\n" in home
    assert "\n04b_gradcam_solutions\n" in (tmp_path / "src" / "solutions" / "index.md").read_text()
    assert (tmp_path / "src" / "notebooks" / "04b_gradcam.ipynb").is_file()


def test_repository_url_comes_from_pyproject(tmp_path):
    assert build_book.repository_url() == "https://github.com/dlvc-course/dlvc-labs"
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    with pytest.raises(SystemExit, match="Repository"):
        build_book.repository_url(tmp_path / "pyproject.toml")


def test_book_command_installs_the_extra_then_builds(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("course", REPO / "scripts" / "course.py")
    course = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(course)
    assert course.main(["book", "--venv", str(tmp_path / "env"), "--dry-run"]) == 0
    python = str(course.venv_python(tmp_path / "env"))
    steps = [line for line in capsys.readouterr().out.splitlines() if line.startswith("+ ")]
    assert steps[-2:] == ["+ " + subprocess.list2cmdline([python, "-m", "pip", "install", "-e", ".[book]"]),
                          "+ " + subprocess.list2cmdline([python, str(Path("scripts", "build_book.py"))])]
    assert not any("data_download" in step for step in steps)   # the site needs no data


def test_make_book_goes_through_the_script():
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}  # under make test
    out = subprocess.run(["make", "-n", "--no-print-directory", "book"], cwd=REPO, env=env, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "python3 scripts/course.py --venv .venv book"


def test_missing_tools_are_named_with_the_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "myst_nb", None)
    with pytest.raises(SystemExit, match=r"myst_nb is missing.*pip install -e \"\.\[book\]\""):
        build_book.main([])


# ---- the built site, read as files ---------------------------------------------------------------------------

def test_every_stored_notebook_has_its_page(site):
    site_dir, count = site
    for folder, path in NOTEBOOKS:
        assert (site_dir / folder / f"{path.stem}.html").is_file(), path
    assert count == len(pages_of(site_dir)) == len(NOTEBOOKS) + 4   # + home, set-up, solutions, search


def test_home_page_lists_every_lab_with_what_it_teaches(site):
    home = parse(site[0] / "index.html")
    text = words("".join(home.text))
    table = build_book.lab_table((REPO / "README.md").read_text(encoding="utf-8"))
    for path in LABS:
        assert f"notebooks/{path.stem}.html" in home.anchors, path
        title, first = build_book.introduction(json.loads(path.read_text(encoding="utf-8")))
        assert words(first.split("\n")[0])[:60] in text, path
        if path.stem in table:
            assert words(table[path.stem]) in text
    assert "setup.html" in home.anchors and "solutions/index.html" in home.anchors


def test_setup_page_holds_the_readme_set_up_and_data_sections(site):
    text = "".join(parse(site[0] / "setup.html").text)
    for heading in ("Two commands", "Google Colab", "Data", "Settings", "Troubleshooting"):
        assert heading in text
    assert "python data_download.py status" in text


def test_solutions_have_their_own_section(site):
    index = parse(site[0] / "solutions" / "index.html")
    for path in SOLUTIONS:
        assert f"{path.stem}.html" in index.anchors, path
    nav = parse(site[0] / "index.html")
    assert not [a for a in nav.anchors if "_solutions" in a and a.startswith("notebooks/")]


def test_pages_load_nothing_from_another_host(site):
    for path in pages_of(site[0]):
        external = [r for r in parse(path).resources if urlparse(r).scheme in ("http", "https", "")
                    and urlparse(r).netloc]
        assert not external, (path, external)
    for css in (site[0] / "_static").rglob("*.css"):
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", css.read_text(encoding="utf-8", errors="replace")), css


def test_each_notebook_page_has_colab_and_download_links(site):
    site_dir, repo = site[0], build_book.repository_url()
    colab = "https://colab.research.google.com/github/" + urlparse(repo).path.strip("/")
    for folder, path in NOTEBOOKS:
        page = parse(site_dir / folder / f"{path.stem}.html")
        assert f"{colab}/blob/main/{folder}/{path.name}" in page.anchors, path
        download = f"../_sources/{folder}/{path.name}"
        assert download in page.anchors, path
        assert (site_dir / folder / download).read_bytes() == path.read_bytes()   # the stored notebook itself


def test_notebook_pages_hold_every_stored_figure_and_no_widget_script(site):
    for folder, path in NOTEBOOKS:
        html = (site[0] / folder / f"{path.stem}.html").read_text(encoding="utf-8")
        figures = len(re.findall(r'<img[^>]+src="\.\./_images/', html))
        assert figures == image_outputs(path), path
        assert "widget-view+json" not in html and "require.js" not in html, path


def test_internal_links_resolve(site):
    pages = pages_of(site[0])
    ids = {p: parse(p).ids for p in pages}
    for path in pages:
        for href in parse(path).anchors:
            url = urlparse(href)
            if url.scheme or url.netloc or href.startswith(("mailto:", "javascript:")):
                continue
            target = (path.parent / unquote(url.path)).resolve() if url.path else path
            assert target.exists(), (path, href)
            if url.fragment and target.suffix == ".html" and target in ids:
                assert url.fragment in ids[target], (path, href)


# ---- the built site in a real browser ------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
MATH = """async () => { if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
    return [document.querySelectorAll('.math').length, document.querySelectorAll('.math mjx-container').length]; }"""
IMAGES_OK = """() => [...document.querySelectorAll('div.cell_output img')].map(
    i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0 && i.getBoundingClientRect().width > 0)"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(site):
    """The site on a local port, as any static web host would serve it."""
    handler = partial(QuietHandler, directory=str(site[0]))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", site[0]
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    sync = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install -e .[test])")
    with sync.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def open_page(browser, url):
    """A page at url with its console errors, uncaught exceptions and requests to other hosts recorded."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems, local = [], urlparse(url).netloc

    def route(r):
        if urlparse(r.request.url).netloc not in (local, ""):
            problems.append(f"request to another host: {r.request.url}")
            return r.abort()
        return r.continue_()

    page.route("**/*", route)
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    return page, problems


def test_every_page_loads_cleanly_and_shows_its_figures_and_formulas(served, browser):
    base, site_dir = served
    expected = {f"{folder}/{path.stem}.html": image_outputs(path) for folder, path in NOTEBOOKS}
    with_math = {f"{folder}/{path.stem}.html" for folder, path in NOTEBOOKS if re.search(r"\$[^$\n]+\$", " ".join(
        "".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
        if c["cell_type"] == "markdown"))}
    shots = REPO / "build" / "browser"
    shots.mkdir(parents=True, exist_ok=True)
    for path in pages_of(site_dir):
        rel = path.relative_to(site_dir).as_posix()
        page, problems = open_page(browser, urljoin(base, rel))
        assert not problems, (rel, problems)
        formulas, typeset = page.evaluate(MATH)
        assert formulas == typeset and (formulas > 0) == (rel in with_math), (rel, f"{typeset} of {formulas} typeset")
        if rel in expected:
            images = page.evaluate(IMAGES_OK)
            assert len(images) == expected[rel] and all(images), (rel, images)
        if rel == "index.html":
            page.screenshot(path=str(shots / "book_home.png"), full_page=True)
        if rel == "notebooks/03_drive_segnet_unet.html":
            page.screenshot(path=str(shots / "book_lab_top.png"))
            page.locator("div.cell_output img").nth(1).scroll_into_view_if_needed()
            page.screenshot(path=str(shots / "book_lab_figure.png"))
        page.close()


def unique_lab_word(site_dir):
    """A long word of one lab's markdown that no other page shows, and whose search stem (Sphinx's English
    stemmer) the search index holds for that page alone: (word, page)."""
    import snowballstemmer

    stem = snowballstemmer.stemmer("english").stemWord
    index = json.loads(re.search(r"setIndex\((.*)\)", (site_dir / "searchindex.js").read_text("utf-8"), re.S)[1])
    docs = {}
    for table in (index["terms"], index["titleterms"]):
        for term, where in table.items():
            docs.setdefault(term, set()).update(where if isinstance(where, list) else [where])
    texts = {p.relative_to(site_dir).as_posix(): " ".join(parse(p).text).lower() for p in pages_of(site_dir)
             if p.name != "search.html"}
    for path in LABS:
        rel = f"notebooks/{path.stem}.html"
        nb = json.loads(path.read_text(encoding="utf-8"))
        markdown = " ".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
        for word in sorted(set(re.findall(r"\b[a-z]{10,}\b", markdown))):
            if docs.get(stem(word), set()) == {index["docnames"].index(rel[:-5])} and \
                    not any(stem(word) in text for r, text in texts.items() if r != rel):
                return word, rel
    raise AssertionError("no word used by one lab only")


def test_search_finds_a_word_only_one_lab_uses(served, browser):
    base, site_dir = served
    word, rel = unique_lab_word(site_dir)
    page, problems = open_page(browser, urljoin(base, f"search.html?q={word}"))
    page.wait_for_function("document.querySelectorAll('#search-results ul.search li').length > 0"
                           " || /found no|did not match/i.test(document.body.innerText)", timeout=30_000)
    hits = page.eval_on_selector_all("#search-results ul.search li a", "as => as.map(a => a.href)")
    page.close()
    assert not problems, problems
    assert [urlparse(h).path.lstrip("/") for h in hits if "#" not in h] == [rel], (word, hits)
