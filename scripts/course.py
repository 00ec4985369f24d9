#!/usr/bin/env python3
"""The two commands without make (Windows too): `python scripts/course.py lab` and `python scripts/course.py test`.

Both create the virtual environment .venv (once), install the package with its lab and test extras (again only
when pyproject.toml changed) and generate the offline stand-in data. `lab` then opens JupyterLab on notebooks/;
`test` installs Chromium for the browser test where it can (Debian/Ubuntu as root) and runs the unit tests and
every notebook and solution in smoke mode. Standard library only: it runs before anything is installed.
"""
import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NBVAL = ["--nbval-lax", "--nbval-current-env", "--nbval-sanitize-with", str(Path("tests", "nbval_sanitize.cfg"))]


def venv_python(venv):
    """The interpreter inside a virtual environment (Scripts\\python.exe on Windows, bin/python elsewhere)."""
    return venv / ("Scripts" if os.name == "nt" else "bin") / ("python.exe" if os.name == "nt" else "python")


def is_root():
    """True for the superuser on POSIX (containers, cloud VMs); never on Windows."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def call(command, dry_run, env=None):
    """Print a command, then run it from the repository root (unless dry_run); stop on failure."""
    print("+ " + subprocess.list2cmdline([str(part) for part in command]), flush=True)
    if not dry_run:
        subprocess.run([str(part) for part in command], cwd=REPO, env=env, check=True)


def setup(venv, dry_run):
    """Create the virtual environment and install the package (editable) with its lab and test extras."""
    python, stamp = venv_python(venv), venv / ".installed"
    if not python.exists():
        call([sys.executable, "-m", "venv", venv], dry_run)
    if dry_run or not stamp.exists() or stamp.stat().st_mtime < (REPO / "pyproject.toml").stat().st_mtime:
        call([python, "-m", "pip", "install", "-e", ".[lab,test]"], dry_run)
        if not dry_run:
            stamp.touch()
    return python


def prepare_data(python, dry_run):
    """Generate the offline stand-ins (seconds); real data: the `status` command says what to import."""
    call([python, "-m", "course_utils.data_download", "synthetic"], dry_run)


def install_browser(dry_run):
    """Debian's Chromium for the browser test, where apt-get and root are available; else say it is skipped."""
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        return
    if is_root() and shutil.which("apt-get"):
        install = ["apt-get", "install", "-y", "-q", "chromium"]
        for commands in ([install], [["apt-get", "update", "-q"], install]):
            print("+ " + " && ".join(subprocess.list2cmdline(c) for c in commands), flush=True)
            if dry_run or all(subprocess.run(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
                              for c in commands):
                return
    print("Chromium could not be installed: tests/test_browser.py will be skipped", flush=True)


def lab_command(python):
    """JupyterLab on notebooks/ (with --allow-root when run as root, which Jupyter otherwise refuses)."""
    return [python, "-m", "jupyter", "lab", "notebooks"] + (["--allow-root"] if is_root() else [])


def test_command(python, workers=1):
    """Unit tests, then every notebook and solution in smoke mode (run with COURSE_SMOKE=1); with workers > 1,
    pytest-xdist spreads whole files (a notebook's cells stay in one kernel) over that many processes."""
    folders = ["tests", "notebooks"] + (["solutions"] if (REPO / "solutions").is_dir() else [])
    parallel = ["-n", str(workers), "--dist", "loadfile"] if workers > 1 else []
    return [python, "-m", "pytest"] + parallel + folders + NBVAL


def test_workers(python):
    """Worker processes for the tests: COURSE_TEST_WORKERS, else 2 where the environment has pytest-xdist and
    the machine two cores or more (each worker then runs torch on one thread), else 1."""
    if os.environ.get("COURSE_TEST_WORKERS"):
        return max(1, int(os.environ["COURSE_TEST_WORKERS"]))
    if (os.cpu_count() or 1) < 2 or not Path(python).exists():
        return 1
    probe = subprocess.run([str(python), "-c", "import xdist"], capture_output=True)
    return 2 if probe.returncode == 0 else 1


def test_env(workers):
    """Environment of the test run: smoke mode; one torch thread per process when workers share the cores."""
    env = dict(os.environ, COURSE_SMOKE="1")
    if workers > 1:
        env.setdefault("OMP_NUM_THREADS", "1")
    return env


def build_site(python, venv, dry_run):
    """`book`: the site's tools (the [book] extra; again only when pyproject.toml changed), then build/site/ from
    the stored notebooks (scripts/build_book.py; nothing is executed)."""
    install_book_tools(python, venv, dry_run)
    call([python, Path("scripts", "build_book.py")], dry_run)
    return 0


def install_book_tools(python, venv, dry_run):
    """The [book] extra (Sphinx, MyST-NB; again only when pyproject.toml changed): `book`, and `test`, whose
    tests/test_book.py builds the site and checks it in a browser."""
    stamp = venv / ".installed-book"
    if dry_run or not stamp.exists() or stamp.stat().st_mtime < (REPO / "pyproject.toml").stat().st_mtime:
        call([python, "-m", "pip", "install", "-e", ".[book]"], dry_run)
        if not dry_run:
            stamp.touch()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["setup", "data", "lab", "test", "book"],
                        help="setup: venv + install; data: setup + stand-ins; lab / test: the two commands; "
                        "book: the course website in build/site/")
    parser.add_argument("--venv", type=Path, default=REPO / ".venv", help="virtual environment (default .venv)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands without running them")
    args = parser.parse_args(argv)
    venv = args.venv if args.venv.is_absolute() else REPO / args.venv
    try:
        python = setup(venv, args.dry_run)
        if args.command == "book":
            return build_site(python, venv, args.dry_run)
        if args.command != "setup":
            prepare_data(python, args.dry_run)
        if args.command == "lab":
            call(lab_command(python), args.dry_run)
        elif args.command == "test":
            install_browser(args.dry_run)
            install_book_tools(python, venv, args.dry_run)
            workers = test_workers(python)
            call(test_command(python, workers), args.dry_run, env=test_env(workers))
    except subprocess.CalledProcessError as error:
        print(f"failed ({error.returncode}): {subprocess.list2cmdline(error.cmd)}", file=sys.stderr)
        return error.returncode
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
