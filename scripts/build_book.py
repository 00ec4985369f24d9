#!/usr/bin/env python3
"""The course as a static website (issue 28): `make book` / `python scripts/course.py book` -> build/site/.

Stages every notebooks/*.ipynb and solutions/*.ipynb (no hand-kept list) into build/book-src/ with their stored
outputs cleaned for a page (progress bars cut to their final line, widget views replaced by their static
fallback, the Colab badge image turned into a plain link so that no page loads anything from another host),
writes the home page from the README's lab table and each notebook's introduction, a set-up page from the
README's set-up and data sections and a solutions section, then runs Sphinx with MyST-NB (docs/book/conf.py),
which renders the notebooks without executing them. Needs the `[book]` extra: pip install -e ".[book]".
"""
import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONF = REPO / "docs" / "book"
SETUP_SECTIONS = ["Two commands", "Google Colab", "Installed as a package", "Data", "Settings",
                  "Running a class on JupyterHub or Binder", "Troubleshooting"]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PROGRESS = re.compile(r"\d+%\|.*\|\s*\d+/\d+|\d+/\d+ \[\d")   # a tqdm line: "x:  45%|####  | 45/100 [00:01<..]"
BADGE = re.compile(r"\[!\[Open in Colab\]\(https://colab\.research\.google\.com/assets/colab-badge\.svg\)\]\(([^)]+)\)")
LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)")


def repository_url(pyproject=REPO / "pyproject.toml"):
    """The repository's address: `Repository` under [project.urls] in pyproject.toml (its one stated place)."""
    match = re.search(r'^\s*Repository\s*=\s*"([^"]+)"', Path(pyproject).read_text(encoding="utf-8"), re.M)
    if not match:
        raise SystemExit(f"{pyproject}: no `Repository = \"...\"` under [project.urls]; add the repository's URL")
    return match.group(1).rstrip("/")


def trim_progress(text):
    """Stream text as a terminal shows it: each line's last carriage-return segment, a run of progress lines cut
    to its final line."""
    out = []
    for line in text.split("\n"):
        segments = [s for s in line.split("\r") if s.strip()]
        line = segments[-1] if segments else ("" if "\r" in line else line)
        if out and PROGRESS.search(line) and PROGRESS.search(out[-1]):
            out[-1] = line
        else:
            out.append(line)
    return "\n".join(out)


def progress_widget_text(view, state):
    """The final line of a tqdm.auto widget (HBox of HTML, progress bar, HTML) from the stored widget state, as
    tqdm prints it in a terminal; None for any other widget."""
    model = state.get(view.get("model_id", ""), {}).get("state", {})
    parts, progress = [], False
    for ref in model.get("children", []):
        child = state.get(ref.removeprefix("IPY_MODEL_"), {})
        if child.get("model_name", "").endswith("ProgressModel"):
            value, top = child["state"].get("value", 0), child["state"].get("max", 0) or 1
            filled = max(0, min(10, round(10 * value / top)))
            parts.append("|" + "\u2588" * filled + " " * (10 - filled) + "|")
            progress = True
        elif child.get("model_name") == "HTMLModel":
            parts.append(str(child["state"].get("value", "")).replace("\u2007", " ").strip())
    return " ".join(p for p in parts if p).replace(" |", "|").replace("| ", "| ") if progress else None


def clean_output(output, state):
    """One stored output as a static page shows it (a new dict; the notebook is never changed)."""
    output = copy.deepcopy(output)
    if output.get("output_type") == "stream":
        output["text"] = trim_progress("".join(output["text"]))
    data = output.get("data")
    if data and WIDGET_VIEW in data:
        view = data.pop(WIDGET_VIEW)
        line = progress_widget_text(view, state)
        if line is not None:
            data["text/plain"] = line
        elif not data:
            return None
    if data and "text/plain" in data and len(data) == 1:
        data["text/plain"] = trim_progress("".join(data["text/plain"]))
    return output


def clean_notebook(nb, repo_url):
    """A copy of a notebook for its page: outputs cleaned, widget state dropped (it would pull the widget manager
    from a CDN), the Colab badge image a text link."""
    nb = copy.deepcopy(nb)
    state = nb["metadata"].pop("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            cell["source"] = BADGE.sub(r"[Open in Colab](\1)", "".join(cell["source"]))
        elif cell["cell_type"] == "code":
            cell["outputs"] = [o for o in (clean_output(o, state) for o in cell["outputs"]) if o is not None]
    return nb


def readme_sections(text):
    """The README's `## ` sections: {heading: body} in order (the part before the first heading under '')."""
    sections, heading = {"": []}, ""
    for line in text.splitlines():
        if line.startswith("## "):
            heading = line[3:].strip()
            sections[heading] = []
        else:
            sections[heading].append(line)
    return {k: "\n".join(v).strip() for k, v in sections.items()}


def lab_table(readme):
    """{notebook stem: what the README's lab table says it covers}."""
    rows = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and re.fullmatch(r"`\w+`", cells[0]):
            rows[cells[0].strip("`")] = cells[1]
    return rows


def introduction(nb):
    """(title, first paragraph) of a notebook's first markdown cell, the Colab badge left out."""
    cell = next((c for c in nb["cells"] if c["cell_type"] == "markdown"), None)
    text = BADGE.sub("", "".join(cell["source"])) if cell else ""
    title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), "")
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip() and not p.lstrip().startswith("#")]
    first = paragraphs[:1]
    while first and first[-1].endswith(":") and len(first) < len(paragraphs):   # "... in three steps:" + its list
        first.append(paragraphs[len(first)])
    return title, "\n\n".join(first)


def repo_links(text, repo_url, known):
    """Relative links to repository files that are not pages of the site point at the repository instead."""
    def fix(match):
        label, target = match.groups()
        if re.match(r"[a-z]+:|#", target) or target in known:
            return match.group(0)
        return f"[{label}]({repo_url}/blob/main/{target})"
    return LINK.sub(fix, text)


def home_page(readme, labs, solutions, repo_url):
    """index.md: the README's opening, its lab table (with each lab's page), what each lab teaches, the toctrees."""
    sections, table = readme_sections(readme), lab_table(readme)
    intro = re.split(r"\n\s*\n", sections[""].split("\n", 1)[-1].strip())[0]   # its first paragraph
    lines = ["# Deep learning for visual computing: PyTorch labs", "", intro, "",
             "Every lab below is shown with the outputs of its stored run: read it before or after the session, "
             "then open it in Colab or download the notebook (buttons at the top of each page). "
             "[Set-up and data](setup.md) says how to run the labs yourself.", "",
             "| notebook | lab | solutions |", "|---|---|---|"]
    solved = {p.stem.removesuffix("_solutions"): p for p in solutions}
    for path, (title, _) in labs.items():
        what = table.get(path.stem, title)
        sol = f"[solutions](solutions/{solved[path.stem].name})" if path.stem in solved else ""
        lines.append(f"| [`{path.stem}`](notebooks/{path.name}) | {what} | {sol} |")
    lines += ["", "## What each lab teaches", ""]
    for path, (title, first) in labs.items():
        lines += [f"### [{title or path.stem}](notebooks/{path.name})", "", first, ""]
    lines += toctree("Labs", [f"notebooks/{p.stem}" for p in labs]) + toctree("Set-up", ["setup"])
    lines += toctree("Solutions", ["solutions/index"])
    return "\n".join(lines) + "\n"


def toctree(caption, entries, hidden=True):
    """A MyST toctree block."""
    return ["```{toctree}", f":caption: {caption}", ":maxdepth: 1"] + ([":hidden:"] if hidden else []) + \
        [""] + entries + ["```", ""]


def setup_page(readme, repo_url, known):
    """setup.md: the README's set-up and data sections, in the README's order."""
    sections = readme_sections(readme)
    lines = ["# Set-up and data", ""]
    for heading, body in sections.items():
        if heading in SETUP_SECTIONS:
            lines += [f"## {heading}", "", repo_links(body, repo_url, known), ""]
    return "\n".join(lines)


def solutions_page(text, solutions, repo_url):
    """solutions/index.md: solutions/README.md with its notebook names linked to their pages, then the toctree."""
    names = {p.name for p in solutions}
    text = re.sub(r"`([\w]+\.ipynb)`", lambda m: f"[`{m.group(1)}`]({m.group(1)})" if m.group(1) in names
                  else m.group(0), text)
    text = repo_links(text, repo_url, names)
    return text.rstrip() + "\n\n" + "\n".join(toctree("Solutions", [p.stem for p in solutions], hidden=False))


def stage(src, repo_url, root=REPO):
    """Write the site's sources under src from the notebooks, solutions and README of root (the repository);
    returns {original notebook: staged relative path}."""
    if src.exists():
        shutil.rmtree(src)
    labs, solutions = sorted((root / "notebooks").glob("*.ipynb")), sorted((root / "solutions").glob("*.ipynb"))
    if not labs:
        raise SystemExit(f"no notebooks in {root / 'notebooks'}: nothing to build")
    staged, intros = {}, {}
    for folder, paths in (("notebooks", labs), ("solutions", solutions)):
        (src / folder).mkdir(parents=True)
        for path in paths:
            nb = json.loads(path.read_text(encoding="utf-8"))
            if folder == "notebooks":
                intros[path] = introduction(nb)
            (src / folder / path.name).write_text(json.dumps(clean_notebook(nb, repo_url), indent=1,
                                                             ensure_ascii=False) + "\n", encoding="utf-8")
            staged[path] = f"{folder}/{path.name}"
    readme = (root / "README.md").read_text(encoding="utf-8")
    known = {f"notebooks/{p.name}" for p in labs} | {f"solutions/{p.name}" for p in solutions}
    (src / "index.md").write_text(home_page(readme, intros, solutions, repo_url), encoding="utf-8")
    (src / "setup.md").write_text(setup_page(readme, repo_url, known), encoding="utf-8")
    sol_readme = root / "solutions" / "README.md"
    sol_text = sol_readme.read_text(encoding="utf-8") if sol_readme.exists() else "# Solutions\n"
    (src / "solutions" / "index.md").write_text(solutions_page(sol_text, solutions, repo_url), encoding="utf-8")
    return staged


def build(out=REPO / "build" / "site", src=REPO / "build" / "book-src", strict=True):
    """Stage, run Sphinx (warnings are errors when strict), put the stored notebooks themselves where each page's
    download button points; returns the number of HTML pages."""
    start, repo_url = time.perf_counter(), repository_url()
    staged = stage(Path(src), repo_url)
    if Path(out).exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", str(CONF), str(src), str(out),
           "-d", str(Path(src).parent / "book-doctrees")] + (["-W", "--keep-going"] if strict else [])
    env = dict(os.environ, BOOK_REPOSITORY=repo_url, PYDEVD_DISABLE_FILE_VALIDATION="1")
    subprocess.run(cmd, check=True, env=env)
    for original, rel in staged.items():
        shutil.copyfile(original, Path(out) / "_sources" / rel)
    pages = [p for p in Path(out).rglob("*.html") if "_static" not in p.parts]
    print(f"site: {out} ({len(pages)} pages, {len(staged)} notebooks) in {time.perf_counter() - start:.0f} s; "
          f"open {Path(out) / 'index.html'}, or publish the folder on any static web host", flush=True)
    return len(pages)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "build" / "site", help="site folder (build/site)")
    parser.add_argument("--no-strict", action="store_true", help="do not stop on Sphinx warnings")
    args = parser.parse_args(argv)
    try:
        import myst_nb  # noqa: F401
        import sphinx_book_theme  # noqa: F401
    except ImportError as error:
        raise SystemExit(f"{error.name} is missing: install the site's tools with pip install -e \".[book]\"") from None
    try:
        build(args.out, strict=not args.no_strict)
    except subprocess.CalledProcessError as error:
        print(f"Sphinx failed ({error.returncode}); the messages above name the page", file=sys.stderr)
        return error.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
