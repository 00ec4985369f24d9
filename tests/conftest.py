"""Fixtures shared by the test modules: thread count, tiny DRIVE trees, the real datasets of ../shared/data."""
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/nbrun.py, tests/fake_datasets.py

import pytest  # noqa: E402
import torch  # noqa: E402
from fake_datasets import write_drive  # noqa: E402

from course_utils import datasets  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # read in place, never copied


def shared_copy(name, *parts):
    """../shared/data/<name>, or skip the calling test naming what is missing (the dataset or a needed part)."""
    folder = SHARED_DATA / name
    for path in (folder, *(folder / part for part in parts)):
        if not path.exists():
            pytest.skip(f"real {name} not available here: no {path}")
    return folder


@pytest.fixture
def one_thread():
    """Tiny tensors: one torch thread avoids spin-waiting when other processes share the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def drive_template(tmp_path_factory):
    """A complete tiny-content DRIVE tree in the official layout, written once per session."""
    return write_drive(tmp_path_factory.mktemp("template") / "DRIVE")


@pytest.fixture
def drive_root(tmp_path, drive_template):
    """A data root holding a fresh copy of the good DRIVE tree."""
    shutil.copytree(drive_template, tmp_path / "DRIVE")
    return tmp_path


@pytest.fixture(scope="module")
def real_drive_root(tmp_path_factory):
    """A data root whose DRIVE links to ../shared/data/DRIVE (read in place, never copied); skips when absent."""
    folder = shared_copy("DRIVE")
    root = tmp_path_factory.mktemp("data")
    (root / "DRIVE").symlink_to(folder)
    return root


@pytest.fixture(scope="module")
def real_drive(real_drive_root):
    """Real DRIVE cases, loaded through real_drive_root."""
    return datasets.load_drive("real", root=real_drive_root)


@pytest.fixture(scope="module")
def real_drive_with_test_labels(real_drive_root):
    """Real DRIVE with the test manuals (the full release); skips on a copy without test/1st_manual."""
    shared_copy("DRIVE", "test/1st_manual", "test/2nd_manual")
    return datasets.load_drive("real", root=real_drive_root)


@pytest.fixture(scope="module")
def real_fashion_folder():
    """../shared/data/FashionMNIST (four idx files under raw/); skips when absent."""
    return shared_copy("FashionMNIST", "raw")


@pytest.fixture(scope="module")
def real_bccd_folder():
    """../shared/data/BCCD; skips when absent."""
    return shared_copy("BCCD", "JPEGImages")


@pytest.fixture(scope="module")
def real_bccd(real_bccd_folder):
    """The real BCCD photographs and boxes, read in place."""
    return datasets.load_bccd("real", real_bccd_folder.parent)
