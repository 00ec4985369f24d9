"""Insert or update the Colab set-up cell and the "Open in Colab" badge: add_colab_cell.py NOTEBOOK...

The repository URL is stated once, as `Repository` under [project.urls] in pyproject.toml; this script writes it
into each notebook's set-up cell and badge (and into the badges of README.md). Re-running it changes nothing
unless the URL or the cell text changed; other cells and all outputs are left as they are.
"""
import argparse
import re
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
BRANCH = "main"  # the branch Colab opens notebooks from
CELL_ID = "colab-setup"
BADGE_SVG = "https://colab.research.google.com/assets/colab-badge.svg"
BADGE = re.compile(r"\[!\[Open in Colab\]\([^)]*\)\]\([^)]*\)")
CELL = '''\
# Google Colab (or any Python without the course package): install it; elsewhere this cell does nothing.
COURSE_REPO = "{url}"
try:
    import course_utils  # noqa: F401  (only: is the package there?)
except ImportError:
    import importlib
    import subprocess
    import sys

    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", f"git+{{COURSE_REPO}}"])
    importlib.invalidate_caches()
    from course_utils import runtime
    print(f"installed course_utils from {{COURSE_REPO}}; data folder: {{runtime.data_root()}}")
    print("DRIVE: upload DRIVE.zip (Files panel on the left), then run: !course-data drive --from DRIVE.zip")
    print("Fashion-MNIST: run !course-data fashion-mnist (until then the notebooks use synthetic stand-ins)")'''


def repository_url(pyproject=REPO / "pyproject.toml"):
    """The `Repository` entry of [project.urls] in pyproject.toml (the one place the URL is stated)."""
    match = re.search(r'^Repository\s*=\s*"([^"]+)"', pyproject.read_text(encoding="utf-8"), re.MULTILINE)
    if not match:
        sys.exit(f"{pyproject}: no Repository = \"https://github.com/OWNER/NAME\" under [project.urls]")
    return match.group(1).rstrip("/").removesuffix(".git")


def colab_link(url, relative):
    """Colab's address of a notebook at `relative` (posix path) in the GitHub repository `url`."""
    match = re.fullmatch(r"https://github\.com/([^/]+/[^/]+)", url)
    if not match:
        sys.exit(f"Colab opens notebooks from GitHub only; pyproject.toml's Repository is {url}")
    return f"https://colab.research.google.com/github/{match.group(1)}/blob/{BRANCH}/{relative}"


def badge(url, relative):
    """Markdown for the "Open in Colab" badge of one notebook."""
    return f"[![Open in Colab]({BADGE_SVG})]({colab_link(url, relative)})"


def with_badge(markdown, text):
    """`markdown` with its badge replaced by `text`, or `text` added after the first (title) line."""
    if BADGE.search(markdown):
        return BADGE.sub(lambda _: text, markdown, count=1)
    title, _, rest = markdown.partition("\n")
    return f"{title}\n\n{text}" + (f"\n\n{rest.lstrip(chr(10))}" if rest.strip() else "")


def find_setup_cell(nb):
    """Index of the set-up cell (by id, else by its first line), or None."""
    first_line = CELL.partition("\n")[0]
    for i, cell in enumerate(nb.cells):
        if cell.get("id") == CELL_ID or (cell.cell_type == "code" and cell.source.startswith(first_line)):
            return i
    return None


def update_notebook(path, url):
    """Insert or update the set-up cell (before the first code cell) and the badge; True when the file changed."""
    nb = nbformat.read(path, as_version=4)
    source = CELL.format(url=url)
    index = find_setup_cell(nb)
    changed = False
    if index is None:
        first_code = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
        cell = nbformat.v4.new_code_cell(source)
        cell["id"] = CELL_ID
        nb.cells.insert(first_code, cell)
        changed = True
    elif nb.cells[index].source != source:
        nb.cells[index].source = source
        changed = True
    relative = path.resolve().relative_to(REPO).as_posix()
    markdown = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if markdown is None:
        sys.exit(f"{path}: no markdown cell for the Colab badge")
    new_markdown = with_badge(markdown.source, badge(url, relative))
    if new_markdown != markdown.source:
        markdown.source = new_markdown
        changed = True
    if changed:
        nbformat.validate(nb)
        nbformat.write(nb, path)
    return changed


def update_readme(url, readme=REPO / "README.md"):
    """Point README.md's Colab badges and `pip install "git+..."` lines at `url`; True when the file changed."""
    text = readme.read_text(encoding="utf-8")
    new = re.sub(r"https://colab\.research\.google\.com/github/[^/]+/[^/]+/blob/[^/]+/",
                 colab_link(url, ""), text)
    new = re.sub(r'git\+https://github\.com/[^/"\s]+/[^/"\s]+', lambda _: f"git+{url}", new)
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    url = repository_url()
    for path in args.notebooks:
        print(f"{path}: {'updated' if update_notebook(path, url) else 'unchanged'}")
    print(f"README.md: {'updated' if update_readme(url) else 'unchanged'}")


if __name__ == "__main__":
    main()
