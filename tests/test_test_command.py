"""`python scripts/course.py test` (issue 31, item 4): two xdist workers, whole files each, one torch thread each."""
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("course_script", ROOT / "scripts" / "course.py")
course = importlib.util.module_from_spec(spec)
spec.loader.exec_module(course)


def test_two_workers_spread_whole_files_and_one_worker_runs_as_before():
    two = course.test_command("py", 2)
    assert two[:7] == ["py", "-m", "pytest", "-n", "2", "--dist", "loadfile"] and two[7:9] == ["tests", "notebooks"]
    assert "-n" not in course.test_command("py", 1)


def test_workers_follow_the_setting_and_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_TEST_WORKERS", "3")
    assert course.test_workers(sys.executable) == 3
    monkeypatch.delenv("COURSE_TEST_WORKERS")
    assert course.test_workers(tmp_path / "no-venv" / "python") == 1  # nothing installed yet (dry run)
    monkeypatch.setattr(course.os, "cpu_count", lambda: 1)
    assert course.test_workers(sys.executable) == 1


def test_parallel_runs_use_one_torch_thread_per_process(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert course.test_env(2)["OMP_NUM_THREADS"] == "1" and course.test_env(2)["COURSE_SMOKE"] == "1"
    assert "OMP_NUM_THREADS" not in course.test_env(1)
