import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/nbrun.py

import pytest  # noqa: E402
import torch  # noqa: E402

from course_utils import data  # noqa: E402

REAL_DRIVE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "DRIVE"


@pytest.fixture
def one_thread():
    """Tiny tensors: one torch thread avoids spin-waiting when other processes share the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def real_drive_root(tmp_path_factory):
    """A data root whose DRIVE links to ../shared/data/DRIVE (read in place, never copied); skips when absent."""
    if not REAL_DRIVE.is_dir():
        pytest.skip(f"real DRIVE not found at {REAL_DRIVE}")
    root = tmp_path_factory.mktemp("data")
    (root / "DRIVE").symlink_to(REAL_DRIVE)
    return root


@pytest.fixture(scope="module")
def real_drive(real_drive_root):
    """Real DRIVE cases, loaded through real_drive_root."""
    return data.load_drive("real", root=real_drive_root)
