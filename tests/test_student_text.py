"""Student-facing text (notebooks, solutions, README) speaks of the course only: no development tools, test
machinery or history of how the course was made (the words below), in markdown and in code cells alike."""
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# (pattern, why it is not for students); README may name the two commands and scripts a user runs
EVERYWHERE = [
    (r"(?i)\b(earlier|previous|older|first) versions? of (this|the) (notebook|lab|course|code)", "history"),
    (r"(?i)\bmeasured separately\b|\bin a separate run\b|\bseparate runs\b", "figures the run does not show"),
    (r"\bCI\b|(?i:continuous integration)", "the team's test machinery"),
    (r"benchmarks/", "a benchmark path as evidence"),
    (r"(?i)\bissue #?\d+|\bstop \d+\b|\bthis (team|issue|session)\b", "how the team works"),
    (r"(?i)\bre-stor(e|ed|ing)\b", "how outputs are stored"),
]
NOTEBOOKS_ONLY = [
    (r"\bmake (store|test|run|lab|book|data|setup|clean-build)\b", "a make target"),
    (r"scripts/", "a development script"),
    (r"NBVAL|(?i:\bnbval\b)", "test machinery"),
    (r"--inplace|run_notebooks\.py", "how outputs are stored"),
]


def problems(text, rules):
    """(line, pattern, why) for every line of a text that matches a rule."""
    return [(line.strip()[:100], pattern, why) for line in text.splitlines()
            for pattern, why in rules if re.search(pattern, line)]


def notebook_text(path):
    return "\n".join("".join(cell["source"]) for cell in json.loads(path.read_text(encoding="utf-8"))["cells"])


STUDENT_NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb")) + sorted((REPO / "solutions").glob("*.ipynb"))


@pytest.mark.parametrize("path", STUDENT_NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_speak_of_the_course_only(path):
    found = problems(notebook_text(path), EVERYWHERE + NOTEBOOKS_ONLY)
    assert not found, "\n".join(f"{why}: {line!r}" for line, _, why in found)


@pytest.mark.parametrize("path", [REPO / "README.md", REPO / "solutions" / "README.md"], ids=lambda p: p.name)
def test_readmes_speak_of_the_course_only(path):
    found = problems(path.read_text(encoding="utf-8"), EVERYWHERE)
    assert not found, "\n".join(f"{why}: {line!r}" for line, _, why in found)


def test_the_rules_catch_planted_words():
    planted = ("An earlier version of this notebook used SGD.\nmake store runs that.\nin CI it is skipped\n"
               "# NBVAL_CHECK_OUTPUT\n93 % in a separate run\nsee benchmarks/results.md")
    whys = {why for _, _, why in problems(planted, EVERYWHERE + NOTEBOOKS_ONLY)}
    assert len(problems(planted, EVERYWHERE + NOTEBOOKS_ONLY)) == 6 and "a make target" in whys
    assert not problems("Train the SegNet for 15 epochs; the test set is scored once.", EVERYWHERE + NOTEBOOKS_ONLY)
