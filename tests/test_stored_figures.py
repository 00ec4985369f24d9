"""Stored notebooks and solutions: every run figure their markdown states is shown by their own outputs.

The rule (one notebook at a time, markdown cells against the text outputs of its code cells):

* a **decimal** with two or more digits after the point (0.9377, 0.05) must appear in the outputs as written,
  with no digit right before or after it;
* a **percentage** (53 %, 12.4%) must appear in the outputs as the same number followed by "%";
* a **duration** (361 s, 6.9 s, 5 min, 120 ms) must appear in the outputs as the same number followed by a
  time unit (s, ms, min, h, seconds, ...), e.g. "time=21.9s" shows 21.9 s but not 22 s.

Not checked: `code spans` and fenced code (settings and parameter values: write a setting such as a
threshold step as `0.01`), $math$, link targets, the first cell's "**Run time:**" sentence (checked against the
stored run's timing metadata by tests/test_run_time_statement.py), and
everything between <cite> and </cite>: the explicit mark for a figure cited from the lecture or the
literature, not measured by the run (Jupyter shows it in italics), e.g.
"<cite>the error fell from about 0.08 to 0.002</cite> in the lecture". Text outputs are stream output and
the text/plain, text/markdown and text/html parts of results and displays.
"""
import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
STORED = sorted((REPO / "notebooks").glob("*.ipynb")) + sorted((REPO / "solutions").glob("*.ipynb"))

NOT_CHECKED = [re.compile(p, re.DOTALL | re.IGNORECASE) for p in (
    r"<cite>.*?</cite>", r"```.*?```", r"``.*?``", r"`[^`\n]*`", r"\$\$.*?\$\$", r"\$[^$\n]+\$", r"\]\([^)]*\)",
    r"<!--.*?-->", r"\*\*Run time:\*\*[^\n]*")]  # the run-time sentence: tests/test_run_time_statement.py
NUMBER = r"(?<![\w.])(\d+(?:\.\d+)?)"
TIME_UNIT = r"(?:ms|s|sec|secs|seconds?|min|mins|minutes?|h|hours?)(?![A-Za-z])"
KINDS = {  # kind: (pattern in markdown, pattern an output must contain, given the number as written)
    "percentage": (NUMBER + r"\s?%", r"{}\s?%"),
    "duration": (NUMBER + r"\s?" + TIME_UNIT, r"{}\s?" + TIME_UNIT),
    "decimal": (r"(?<![\w.])(\d+\.\d{2,})(?!\d|\.\d)", r"{}(?!\d)"),
}
OUTPUT_KEYS = ("text/plain", "text/markdown", "text/html")


def output_text(nb):
    """All text output of a notebook's code cells, joined."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            for key in OUTPUT_KEYS:
                value = out.get("data", {}).get(key)
                if value:
                    parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(parts)


def checked_text(markdown):
    """Markdown without the parts the rule does not check (code, math, link targets, <cite>...</cite>)."""
    for pattern in NOT_CHECKED:
        markdown = pattern.sub(" ", markdown)
    return markdown


def stated_figures(markdown):
    """(kind, number as written, the match) of every run figure stated in one markdown text, in text order."""
    text, found, taken = checked_text(markdown), [], set()
    for kind, (pattern, _) in KINDS.items():
        for m in re.finditer(pattern, text):
            if m.start(1) not in taken:  # "6.9 s" is a duration, not also a decimal
                taken.add(m.start(1))
                found.append((m.start(1), kind, m.group(1), m.group(0)))
    return [figure[1:] for figure in sorted(found)]


def unshown_figures(nb):
    """'cell N: kind "figure"' for every markdown figure the notebook's outputs do not show."""
    outputs, missing = output_text(nb), []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for kind, number, text in stated_figures(cell.source):
            shown = KINDS[kind][1].format(r"(?<![\d.])" + re.escape(number))
            if not re.search(shown, outputs):
                missing.append(f'cell {index}: {kind} "{text}"')
    return missing


def notebook(markdown, output):
    """A two-cell notebook: one markdown cell, one code cell with one stream output."""
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("print()")
    code.outputs = [nbformat.v4.new_output("stream", text=output)]
    nb.cells = [nbformat.v4.new_markdown_cell(markdown), code]
    return nb


def test_rule_finds_retyped_figures_and_accepts_shown_or_cited_ones():
    out = "U-Net: train_loss=0.1121, time=308.5s\nF1 0.8152, AUC 0.9775\nvessels: 12.4% of the FOV\n"
    assert unshown_figures(notebook("F1 **0.8152**, AUC 0.9775; 12.4 % vessel; training took 308.5 s.", out)) == []
    retyped = unshown_figures(notebook("F1 0.815 and AUC 0.978, about 12 % vessel, 309 s, 5 min.", out))
    assert retyped == ['cell 0: decimal "0.815"', 'cell 0: decimal "0.978"', 'cell 0: percentage "12 %"',
                       'cell 0: duration "309 s"', 'cell 0: duration "5 min"']
    assert unshown_figures(notebook("Lecture: <cite>MSE 0.08 → 0.002 in 6 min</cite>; `lr = 0.005`; "
                                    "$p = 0.25$; [v0.12](https://x.org/0.12)", out)) == []
    assert unshown_figures(notebook("batch 16 of 2 crops, threshold 0.5, 2.5× thinner, 3.11.7", out)) == []
    assert unshown_figures(notebook("it took 0.1121 s", out)) == ['cell 0: duration "0.1121 s"']


@pytest.mark.parametrize("path", STORED, ids=[f"{p.parent.name}/{p.name}" for p in STORED])
def test_markdown_states_only_figures_its_outputs_show(path):
    missing = unshown_figures(nbformat.read(path, as_version=4))
    assert not missing, (f"{path.relative_to(REPO)} states figures its stored outputs do not show (print them from "
                         f"a code cell, or mark a cited figure <cite>...</cite>):\n  " + "\n  ".join(missing))
