"""Where the data lives: the data root of a clone or of an installed package, and the command that fills it."""
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]  # the clone's root; site-packages for an installed package
APP_NAME = "dlvc-labs"  # per-user data folder of an installed package


def is_checkout():
    """True when course_utils runs from a clone (editable install included), False when pip-installed."""
    return (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "notebooks").is_dir()


DATA_COMMAND = "python data_download.py" if is_checkout() else "course-data"  # quoted in fix messages


def default_data_root():
    """<repo>/data in a checkout; the per-user data folder (platformdirs) for an installed package."""
    if is_checkout():
        return REPO_ROOT / "data"
    import platformdirs  # only an installed package needs it
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def data_root(root=None):
    """The data root: the given folder, else $COURSE_DATA, else default_data_root() (every loader, the command)."""
    if root is not None:
        return Path(root).expanduser()
    return Path(os.environ.get("COURSE_DATA") or default_data_root()).expanduser().resolve()
