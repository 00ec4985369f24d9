"""scripts/course.py: the two commands without make (venv, install, data, lab / tests), as make and CI run them."""
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("course", REPO / "scripts" / "course.py")
course = importlib.util.module_from_spec(spec)
spec.loader.exec_module(course)
NBVAL = ["--nbval-lax", "--nbval-current-env", "--nbval-sanitize-with", os.path.join("tests", "nbval_sanitize.cfg")]


def test_dry_run_test_lists_every_step_in_order(tmp_path, capsys):
    assert course.main(["test", "--venv", str(tmp_path / "env"), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    python = str(course.venv_python(tmp_path / "env"))
    steps = [line for line in lines if line.startswith("+ ")]
    assert steps[0] == "+ " + subprocess.list2cmdline([sys.executable, "-m", "venv", str(tmp_path / "env")])
    assert steps[1] == "+ " + subprocess.list2cmdline([python, "-m", "pip", "install", "-e", ".[lab,test]"])
    assert steps[2] == "+ " + subprocess.list2cmdline([python, "-m", "course_utils.data_download", "synthetic"])
    assert steps[-1] == "+ " + subprocess.list2cmdline([python, "-m", "pytest", "tests", "notebooks", "solutions"]
                                                       + NBVAL)
    assert not (tmp_path / "env").exists()


def test_venv_interpreter_path_is_portable():
    expected = ("Scripts", "python.exe") if os.name == "nt" else ("bin", "python")
    assert course.venv_python(Path("env")).parts[-2:] == expected


@pytest.mark.parametrize("root", [True, False])
def test_lab_adds_allow_root_only_as_root(monkeypatch, root):
    monkeypatch.setattr(course, "is_root", lambda: root)
    command = course.lab_command(Path("python"))
    assert command[1:5] == ["-m", "jupyter", "lab", "notebooks"]
    assert ("--allow-root" in command) is root


def test_data_generates_the_stand_ins_with_an_installed_environment(tmp_path, monkeypatch, capsys):
    venv = tmp_path / "env"
    venv.mkdir()
    (venv / ".installed").touch()
    later = time.time() + 60
    os.utime(venv / ".installed", (later, later))  # installed after pyproject.toml changed: no pip run
    monkeypatch.setattr(course, "venv_python", lambda _: Path(sys.executable))
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "data"))
    assert course.main(["data", "--venv", str(venv)]) == 0
    out = capsys.readouterr().out
    assert "pip install" not in out and "course_utils.data_download synthetic" in out
    for name in ("FashionMNIST", "DRIVE", "ALL_IDB"):
        assert (tmp_path / "data" / "synthetic" / name).is_dir()


def test_failing_step_returns_its_exit_code(tmp_path, monkeypatch, capsys):
    venv = tmp_path / "env"
    venv.mkdir()
    monkeypatch.setattr(course, "venv_python", lambda _: Path(sys.executable))
    monkeypatch.setattr(course, "call", lambda command, dry_run, env=None: subprocess.run(
        [sys.executable, "-c", "raise SystemExit(3)"], check=True))
    assert course.main(["setup", "--venv", str(venv)]) == 3
    assert "failed (3)" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")
def test_make_and_ci_go_through_the_script():
    assert (REPO / ".ci" / "run").read_text().strip().endswith("make test")
    for target in ("lab", "test"):
        env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}  # under make test
        out = subprocess.run(["make", "-n", "--no-print-directory", target], cwd=REPO, env=env,
                             capture_output=True, text=True, check=True).stdout
        assert out.strip() == f"python3 scripts/course.py --venv .venv {target}"


def test_environment_yml_lists_every_dependency_of_pyproject():
    import re
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11+")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + sum(project["optional-dependencies"].values(), [])
    listed = (REPO / "environment.yml").read_text()
    for requirement in wanted:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)
        assert re.search(rf"^\s*- {re.escape(requirement)}$", listed, re.MULTILINE), f"{name} missing"
    assert "- -e .[lab,test]" in listed
