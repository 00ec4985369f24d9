"""Installed, not cloned: the wheel, installed outside the checkout, runs notebook 00 and writes nothing into itself."""
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
REPORT = """import course_utils
from course_utils import runtime
print(course_utils.__file__, runtime.data_root(), runtime.checkpoint_dir(), runtime.DATA_COMMAND, sep="\\n")"""


def snapshot(folder):
    """Every file under folder with its size and modification time."""
    return {p.relative_to(folder): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The package built as a wheel from a copy of its sources and pip-installed into a fresh folder."""
    tmp = tmp_path_factory.mktemp("installed")
    source = tmp / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "course_utils", source / "course_utils", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run(pip + ["wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", tmp / "wheel", source],
                   check=True)
    wheel = next((tmp / "wheel").glob("course_utils-*.whl"))
    subprocess.run(pip + ["install", "--no-deps", "--no-index", "--target", tmp / "site", wheel], check=True)
    return tmp / "site"


@pytest.fixture
def installed_env(installed, tmp_path, monkeypatch):
    """Environment of a student with only the installed package: no COURSE_DATA, no checkout on the path."""
    monkeypatch.setenv("PYTHONPATH", str(installed))
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user-data"))  # the per-user folder, kept in tmp
    monkeypatch.setenv("COURSE_SMOKE", "1")
    monkeypatch.delenv("COURSE_DATA", raising=False)
    import platformdirs
    return Path(platformdirs.user_data_dir("dlvc-labs", appauthor=False)).resolve()


def test_installed_package_runs_notebook_00_and_writes_nothing_into_itself(installed, installed_env, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    nb = nbformat.read(REPO / "notebooks" / "00_setup_check.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    before = snapshot(installed)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    assert nb.cells[1].id == "colab-setup" and nb.cells[1].outputs == []  # importable: the cell is silent
    package, root, checkpoints, command = nb.cells[-1].outputs[0].text.split()
    assert Path(package).parent == installed / "course_utils"
    assert Path(root) == installed_env and Path(checkpoints) == work / "checkpoints" and command == "course-data"
    assert (installed_env / "synthetic" / "FashionMNIST").is_dir()  # stand-ins went to the per-user folder
    assert snapshot(installed) == before


def test_console_script_reports_the_user_data_folder(installed, installed_env):
    script = next(p for p in installed.rglob("course-data*") if p.is_file())
    out = subprocess.run([sys.executable, script, "status"], capture_output=True, text=True, check=True).stdout
    assert f"data root: {installed_env}" in out
    assert "course-data fashion-mnist" in out  # fix commands name the installed command
