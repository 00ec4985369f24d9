"""The Colab set-up cell (scripts/add_colab_cell.py): installs only where course_utils is missing; idempotent script."""
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("add_colab_cell", REPO / "scripts" / "add_colab_cell.py")
add_colab_cell = importlib.util.module_from_spec(spec)
spec.loader.exec_module(add_colab_cell)
URL = add_colab_cell.repository_url()


class BlockCourseUtils:
    """A meta-path finder that makes `course_utils` unimportable, as on a fresh Colab runtime."""

    def find_spec(self, name, path=None, target=None):
        if name == "course_utils" or name.startswith("course_utils."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


@pytest.fixture
def without_course_utils(monkeypatch):
    """course_utils unimportable; yields the blocker (remove it from sys.meta_path to 'install' the package)."""
    blocker = BlockCourseUtils()
    for name in [m for m in sys.modules if m == "course_utils" or m.startswith("course_utils.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [blocker] + sys.meta_path)
    return blocker


def setup_source():
    nb = nbformat.read(REPO / "notebooks" / "00_setup_check.ipynb", as_version=4)
    index = add_colab_cell.find_setup_cell(nb)
    assert index is not None, "notebook 00 has no Colab set-up cell: run scripts/add_colab_cell.py"
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    assert index == first_code and nb.cells[index].source == add_colab_cell.CELL.format(url=URL)
    return nb.cells[index].source


def test_cell_installs_from_the_repository_when_course_utils_is_missing(without_course_utils, monkeypatch,
                                                                          capsys, tmp_path):
    calls = []

    def fake_install(command, *args, **kwargs):
        calls.append(command)
        sys.meta_path.remove(without_course_utils)  # the package is now "installed"
        return 0

    monkeypatch.setattr(subprocess, "check_call", fake_install)
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    exec(setup_source(), {})
    assert calls == [[sys.executable, "-m", "pip", "install", "-q", f"git+{URL}"]]
    out = capsys.readouterr().out
    assert f"installed course_utils from {URL}; data folder: {tmp_path.resolve()}" in out
    assert "course-data drive --from DRIVE.zip" in out and "course-data fashion-mnist" in out


def test_cell_stops_when_the_install_fails(without_course_utils, monkeypatch):
    def failing_install(command, *args, **kwargs):
        raise subprocess.CalledProcessError(1, command)

    monkeypatch.setattr(subprocess, "check_call", failing_install)
    with pytest.raises(subprocess.CalledProcessError):
        exec(setup_source(), {})


def test_cell_does_nothing_where_course_utils_is_importable(monkeypatch, capsys):
    def no_install(*args, **kwargs):
        raise AssertionError("the set-up cell must not install anything here")

    monkeypatch.setattr(subprocess, "check_call", no_install)
    exec(setup_source(), {})
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_script_is_idempotent_and_leaves_other_cells_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(add_colab_cell, "REPO", tmp_path)
    target = tmp_path / "notebooks" / "demo.ipynb"
    target.parent.mkdir()
    nb = nbformat.read(REPO / "notebooks" / "00_setup_check.ipynb", as_version=4)
    nb.cells = [c for i, c in enumerate(nb.cells) if i != add_colab_cell.find_setup_cell(nb)]
    nb.cells[0].source = add_colab_cell.BADGE.sub("", nb.cells[0].source).replace("\n\n\n\n", "\n\n")
    nbformat.write(nb, target)
    before = nbformat.read(target, as_version=4)
    assert add_colab_cell.update_notebook(target, URL)
    once = target.read_bytes()
    assert not add_colab_cell.update_notebook(target, URL)
    assert target.read_bytes() == once
    after = nbformat.read(target, as_version=4)
    assert after.cells[1].id == "colab-setup" and after.cells[1].outputs == []
    assert [c for i, c in enumerate(after.cells) if i > 1] == before.cells[1:]
    owner_name = URL.removeprefix("https://github.com/")
    link = f"https://colab.research.google.com/github/{owner_name}/blob/main/notebooks/demo.ipynb"
    badge = "[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
    assert f"{badge}({link})" in after.cells[0].source
    assert after.cells[0].source.count("Open in Colab") == 1


def test_script_follows_a_changed_url(tmp_path, monkeypatch):
    monkeypatch.setattr(add_colab_cell, "REPO", tmp_path)
    target = tmp_path / "lab.ipynb"
    shutil.copy(REPO / "notebooks" / "00_setup_check.ipynb", target)
    assert add_colab_cell.update_notebook(target, "https://github.com/someone/fork")
    nb = nbformat.read(target, as_version=4)
    assert nb.cells[0].source.count("Open in Colab") == 1
    assert "colab.research.google.com/github/someone/fork/blob/main/lab.ipynb" in nb.cells[0].source
    assert 'COURSE_REPO = "https://github.com/someone/fork"' in nb.cells[1].source
    assert sum(c.get("id") == "colab-setup" for c in nb.cells) == 1


def test_readme_badges_and_install_lines_follow_the_url(tmp_path):
    readme = tmp_path / "README.md"
    shutil.copy(REPO / "README.md", readme)
    assert not add_colab_cell.update_readme(URL, readme)  # README.md is up to date with pyproject.toml
    assert add_colab_cell.update_readme("https://github.com/someone/fork", readme)
    text = readme.read_text(encoding="utf-8")
    assert URL not in text and text.count("colab.research.google.com/github/someone/fork/blob/main/notebooks/") == len(
        list((REPO / "notebooks").glob("*.ipynb")))  # one badge per lab in the README's table
    assert 'pip install "git+https://github.com/someone/fork"' in text
