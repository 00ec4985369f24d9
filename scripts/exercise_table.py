#!/usr/bin/env python3
"""The table of every exercise in solutions/README.md, built from the stored solutions and labs: which exercises are
solved, how long the solution's cells took in the stored run (nbclient's cell timings) and which have a self-check
cell in the lab. `python scripts/exercise_table.py` rewrites the table; `--check` exits 1 when it is out of date.
"""
import argparse
import json
import re
import sys
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "solutions" / "README.md"
BEGIN, END = "<!-- exercise table: scripts/exercise_table.py -->", "<!-- end of the exercise table -->"
HEADING = re.compile(r"^## Exercise (\d+)(, continued)?(?: \((optional[^)]*)\))? · (.+)$", re.M)


def seconds(cell):
    """Wall time of one executed code cell from nbclient's timing metadata (0 when it was not recorded)."""
    timing = cell.get("metadata", {}).get("execution", {})
    if "iopub.execute_input" not in timing or "shell.execute_reply" not in timing:
        return 0.0
    start, end = (datetime.fromisoformat(timing[k].replace("Z", "+00:00"))
                  for k in ("iopub.execute_input", "shell.execute_reply"))
    return (end - start).total_seconds()


def sections(cells):
    """{exercise number: (title, optional note, seconds, code cells)} and the seconds of the cells outside them."""
    found, current, shared = {}, None, 0.0
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            for line in (line for line in source.splitlines() if line.startswith("## ")):
                match = HEADING.match(line)
                current = int(match.group(1)) if match else None
                if match and current not in found:
                    found[current] = (match.group(4).strip(), match.group(3), 0.0, 0)
        elif cell["cell_type"] == "code":
            if current is None:
                shared += seconds(cell)
            else:
                title, note, spent, count = found[current]
                found[current] = (title, note, spent + seconds(cell), count + 1)
    return found, shared


def self_checks(lab):
    """Exercise numbers whose self-check cell the lab notebook calls (`nbXX.exercise_N(`)."""
    cells = json.loads(lab.read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return {int(n) for n in re.findall(r"\bnb\w+\.exercise_(\d+)\(", text)}


def duration(value):
    return f"{value:.0f} s" if value < 90 else f"{value / 60:.1f} min"


def rows():
    """One table row per exercise of every solutions notebook."""
    lines = ["| lab | exercise | solved | time of the solution's cells (stored run) | self-check in the lab |",
             "|---|---|---|---|---|"]
    for solution in sorted((REPO / "solutions").glob("*_solutions.ipynb")):
        lab = REPO / "notebooks" / solution.name.replace("_solutions", "")
        name = lab.stem.split("_")[0]
        cells = json.loads(solution.read_text(encoding="utf-8"))["cells"]
        found, shared = sections(cells)
        checked = self_checks(lab) if lab.exists() else set()
        if not found:  # a solutions notebook that solves the lab's one exercise from top to bottom
            total = sum(seconds(c) for c in cells if c["cell_type"] == "code")
            check = "yes" if 1 in checked else "no"
            lines.append(f"| {name} | 1 | yes (the whole notebook) | {duration(total)} | {check} |")
            continue
        for number, (title, note, spent, count) in sorted(found.items()):
            solved = ("yes" if count else "described") + (f" ({note})" if note else "")
            lines.append(f"| {name} | {number} · {title} | {solved} | {duration(spent)} | "
                         f"{'yes' if number in checked else 'no'} |")
        lines.append(f"| {name} | set-up and summary cells of the solutions | | {duration(shared)} | |")
    return "\n".join(lines)


def updated(text):
    """README text with the table between the markers replaced (markers added at the end when missing)."""
    block = f"{BEGIN}\n{rows()}\n{END}"
    if BEGIN in text:
        return re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    return text.rstrip("\n") + "\n\n" + block + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when the table differs from the notebooks")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    if args.check:
        ok = updated(text) == text
        print("solutions/README.md: the exercise table " + ("matches" if ok else "is out of date: run "
              "python scripts/exercise_table.py"))
        return 0 if ok else 1
    README.write_text(updated(text), encoding="utf-8")
    print("wrote the exercise table of solutions/README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
