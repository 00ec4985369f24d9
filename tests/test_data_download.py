"""Tests for data_download.py: imports from zip/folder, unsafe archives, atomicity, --force, status, offline."""
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from course_utils import data_download
from course_utils import data
from test_data import REAL_ROOT, drive_template, fake_makers, write_all_idb, write_bccd, write_fashion  # noqa: F401


@pytest.fixture
def drive_source(drive_template):
    """A downloaded-looking folder holding the official DRIVE tree (shared, read-only by convention)."""
    return drive_template.parent


@pytest.fixture(scope="module")
def imported_template(tmp_path_factory, drive_template):
    """A data root into which the CLI imported DRIVE once (copied by the tests that change it)."""
    root = tmp_path_factory.mktemp("imported")
    assert data_download.main(["drive", "--from", str(drive_template.parent), "--root", str(root)]) == 0
    return root


def make_zip(path, folder, prefix):
    """Zip every file under folder with member names prefix/<relative path>."""
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, f"{prefix}/{file.relative_to(folder).as_posix()}")
    return path


def synthetic_row(root):
    """The status row of the synthetic stand-ins."""
    return next(row for row in data.dataset_status(root) if row["dataset"] == "synthetic")


def cli(*args):
    return data_download.main([str(a) for a in args])


def leftovers(root):
    return sorted(p.name for p in root.glob(".import-*"))


def test_import_nested_zip(tmp_path, drive_source, capsys):
    archive = make_zip(tmp_path / "DRIVE.zip", drive_source / "DRIVE", "datasets/DRIVE")
    root = tmp_path / "data"
    assert cli("drive", "--from", archive, "--root", root) == 0
    assert "140 files verified" in capsys.readouterr().out
    assert data.manifest_path(root, "drive").read_text().count("  DRIVE/") == 140
    assert data.manifest_problem(root, "drive") is None and leftovers(root) == []
    assert len(data.load_drive("real", root).test) == 20


def test_import_two_zips_matches_folder_import(tmp_path, drive_source, imported_template):
    training = make_zip(tmp_path / "training.zip", drive_source / "DRIVE" / "training", "training")
    test = make_zip(tmp_path / "test.zip", drive_source / "DRIVE" / "test", "test")
    assert cli("drive", "--from", training, test, "--root", tmp_path / "a") == 0
    assert (tmp_path / "a" / "DRIVE.sha256").read_text() == (imported_template / "DRIVE.sha256").read_text()


@pytest.mark.parametrize("entry", ["../evil.txt", "DRIVE/../../evil.txt", "/tmp/evil.txt", "C:\\evil.txt"])
def test_unsafe_archive_is_rejected(tmp_path, drive_source, capsys, entry):
    archive = make_zip(tmp_path / "DRIVE.zip", drive_source / "DRIVE", "DRIVE")
    with zipfile.ZipFile(archive, "a") as bad:
        bad.writestr(zipfile.ZipInfo(entry), b"payload")
    root = tmp_path / "data"
    assert cli("drive", "--from", archive, "--root", root) == 1
    assert "unsafe entry" in capsys.readouterr().err
    assert not (root / "DRIVE").exists() and leftovers(root) == [] and not (tmp_path / "evil.txt").exists()


def test_wrong_layout_is_rejected_before_anything_is_placed(tmp_path, drive_source, capsys):
    archive = make_zip(tmp_path / "flat.zip", drive_source / "DRIVE" / "training", "DRIVE/train")
    root = tmp_path / "data"
    assert cli("drive", "--from", archive, "--root", root) == 1
    assert "no folder 'training'" in capsys.readouterr().err
    assert not (root / "DRIVE").exists() and leftovers(root) == []


def test_bad_image_in_archive_is_rejected(tmp_path, drive_source, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(drive_source / "DRIVE", copy / "DRIVE")
    (copy / "DRIVE" / "test" / "images" / "03_test.tif").write_bytes(b"broken")
    assert cli("drive", "--from", copy, "--root", tmp_path / "data") == 1
    assert "03_test.tif" in capsys.readouterr().err
    assert not (tmp_path / "data" / "DRIVE").exists() and leftovers(tmp_path / "data") == []


@pytest.fixture
def imported(tmp_path, imported_template):
    """A fresh copy of a data root with an imported DRIVE and its manifest."""
    shutil.copytree(imported_template, tmp_path / "data")
    return tmp_path / "data"


def test_existing_good_copy_needs_force(imported, drive_source, capsys):
    root = imported
    manifest = data.manifest_path(root, "drive").read_text()
    assert cli("drive", "--from", drive_source, "--root", root) == 1
    err = capsys.readouterr().err
    assert "already present and verified" in err and "add --force" in err
    assert data.manifest_path(root, "drive").read_text() == manifest


def test_force_replaces_and_removes_old_copy(tmp_path, imported, drive_source):
    root = imported
    newer = tmp_path / "newer"
    shutil.copytree(drive_source / "DRIVE", newer / "DRIVE")
    shutil.rmtree(newer / "DRIVE" / "test" / "1st_manual")  # the current release: no test labels
    (root / "DRIVE" / "marker.txt").write_text("old copy")
    assert cli("drive", "--from", newer, "--root", root, "--force") == 0
    assert not (root / "DRIVE" / "marker.txt").exists() and not (root / "DRIVE" / "test" / "1st_manual").exists()
    assert data.manifest_problem(root, "drive") is None and leftovers(root) == []
    assert "held out" in data.load_drive("real", root).test_note


def test_broken_copy_is_replaced_without_force(imported, drive_source, capsys):
    root = imported
    (root / "DRIVE" / "training" / "mask" / "22_training_mask.gif").unlink()
    assert cli("drive", "--from", drive_source, "--root", root) == 0
    assert "not usable and will be replaced" in capsys.readouterr().out
    assert data.dataset_status(root)[1]["state"] == "present"


@pytest.mark.parametrize("failure", [data.DataError("verification failed"), KeyboardInterrupt()])
def test_interrupted_import_keeps_old_copy(imported, drive_source, monkeypatch, failure):
    root = imported
    manifest = data.manifest_path(root, "drive").read_text()

    def fail(*args, **kwargs):
        raise failure
    monkeypatch.setattr(data, "verify_dataset", fail)
    assert cli("drive", "--from", drive_source, "--root", root, "--force") in (1, 130)
    assert leftovers(root) == [] and data.manifest_path(root, "drive").read_text() == manifest
    assert data.manifest_problem(root, "drive") is None


def test_failure_while_swapping_rolls_back(imported, drive_source, monkeypatch):
    root = imported
    (root / "DRIVE" / "marker.txt").write_text("old copy")
    data.write_manifest(root, "DRIVE", data.manifest_path(root, "drive"))
    real_replace = os.replace

    def fail_on_manifest(source, target):
        if str(target).endswith("DRIVE.sha256"):
            raise OSError("disk full")
        return real_replace(source, target)
    monkeypatch.setattr(os, "replace", fail_on_manifest)
    with pytest.raises(OSError, match="disk full"):
        data_download.import_dataset("drive", [drive_source], root, force=True)
    assert (root / "DRIVE" / "marker.txt").read_text() == "old copy" and leftovers(root) == []
    assert data.manifest_problem(root, "drive") is None


def test_status_after_import_detects_checksum_mismatch(imported, capsys):
    root = imported
    assert cli("status", "--root", root) == 0
    assert "checksums match" in capsys.readouterr().out
    path = root / "DRIVE" / "training" / "images" / "25_training.tif"
    path.write_bytes(path.read_bytes()[:-1] + b"\x07")
    assert cli("status", "--root", root) == 0
    out = capsys.readouterr().out
    assert "checksum mismatch" in out and "25_training.tif" in out


def test_without_from_prints_registration(tmp_path, capsys):
    assert cli("drive", "--root", tmp_path) == 1
    assert "drive.grand-challenge.org" in capsys.readouterr().err
    assert cli("all-idb", "--root", tmp_path) == 1
    assert "scotti.di.unimi.it/all" in capsys.readouterr().err


def test_missing_or_unknown_source_path(tmp_path, capsys):
    assert cli("drive", "--from", tmp_path / "nothing.zip", "--root", tmp_path) == 1
    assert "nothing.zip does not exist" in capsys.readouterr().err
    (tmp_path / "DRIVE.rar").write_bytes(b"Rar!")
    assert cli("drive", "--from", tmp_path / "DRIVE.rar", "--root", tmp_path) == 1
    assert "neither a folder nor a zip" in capsys.readouterr().err


def test_all_idb_import_from_two_zips(tmp_path, monkeypatch):
    monkeypatch.setitem(data.ALL_IDB_COUNTS, "cells", 4)
    monkeypatch.setitem(data.ALL_IDB_COUNTS, "smears", 2)
    tree = write_all_idb(tmp_path / "download" / "ALL_IDB")
    part1 = make_zip(tmp_path / "ALL_IDB1.zip", tree / "ALL_IDB1", "ALL_IDB1")
    part2 = make_zip(tmp_path / "ALL_IDB2.zip", tree / "ALL_IDB2", "ALL_IDB2")
    assert cli("all-idb", "--from", part1, part2, "--root", tmp_path / "data") == 0
    assert data.load_all_idb1("real", tmp_path / "data").centroids[0].shape == (2, 2)
    assert data.manifest_problem(tmp_path / "data", "all_idb") is None


def test_fashion_mnist_offline_message(tmp_path, monkeypatch, capsys):
    def offline(root, train, download):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\n<urlopen error Name or service not known>")
    monkeypatch.setattr(data_download, "FashionMNIST", offline)
    assert cli("fashion-mnist", "--root", tmp_path) == 1
    err = capsys.readouterr().err
    assert "offline" in err and "synthetic stand-in" in err and "Name or service not known" in err
    assert not (tmp_path / "FashionMNIST").exists() and leftovers(tmp_path) == []


def test_fashion_mnist_download_is_installed_atomically(tmp_path, monkeypatch):
    def fake_download(root, train, download):
        if not (Path(root) / "FashionMNIST").exists():
            write_fashion(Path(root) / "FashionMNIST")
    monkeypatch.setattr(data_download, "FashionMNIST", fake_download)
    assert cli("fashion-mnist", "--root", tmp_path) == 0
    assert data.load_fashion_mnist("real", tmp_path).X_train.shape == (20, 1, 28, 28)
    assert data.manifest_problem(tmp_path, "fashion_mnist") is None and leftovers(tmp_path) == []


def test_root_option_overrides_course_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "env"))
    assert cli("status") == 0
    assert f"data root: {tmp_path / 'env'}" in capsys.readouterr().out
    assert cli("status", "--root", tmp_path / "option") == 0
    assert f"data root: {tmp_path / 'option'}" in capsys.readouterr().out


def test_expected_failure_is_one_line_without_traceback(tmp_path, capsys):
    assert cli("drive", "--from", tmp_path / "missing", "--root", tmp_path) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err


@pytest.mark.skipif(not (REAL_ROOT / "DRIVE").is_dir(), reason="real DRIVE not available")
def test_import_real_drive(tmp_path, capsys):
    assert cli("drive", "--from", REAL_ROOT / "DRIVE", "--root", tmp_path) == 0
    assert cli("status", "--root", tmp_path) == 0
    lines = capsys.readouterr().out.splitlines()
    drive_line = next(line for line in lines if line.startswith("DRIVE "))
    assert "present" in drive_line and data.manifest_problem(tmp_path, "drive") is None
    assert np.mean([c.fov.mean() for c in data.load_drive("real", tmp_path).train]) > 0.6


def test_synthetic_command_generates_and_repairs(tmp_path, monkeypatch, capsys, drive_template):
    calls = []
    fake_makers(monkeypatch, calls, drive_template)
    assert cli("synthetic", "--root", tmp_path) == 0
    assert sorted(calls) == ["ALL_IDB", "BCCD", "DRIVE", "FashionMNIST"]
    assert synthetic_row(tmp_path)["state"] == "present"
    (tmp_path / "synthetic" / "DRIVE" / "test" / "images" / "04_test.tif").write_bytes(b"junk")
    capsys.readouterr()
    assert cli("synthetic", "--root", tmp_path) == 0
    assert "regenerating the synthetic DRIVE" in capsys.readouterr().out and calls.count("DRIVE") == 2
    assert synthetic_row(tmp_path)["state"] == "present"


# ---------------------------------------------------------------- BCCD
def test_bccd_import_checks_the_release_and_leaves_nothing(tmp_path, capsys):
    source = write_bccd(tmp_path / "download" / "BCCD")
    root = tmp_path / "data"
    assert cli("bccd", "--from", source.parent, "--root", root) == 1
    err = capsys.readouterr().err
    assert "differ from the release" in err and "d272fb1" in err and "nothing was changed" in err
    assert not (root / "BCCD").exists() and leftovers(root) == []


def test_bccd_offline_download_says_what_to_do(tmp_path, capsys, monkeypatch):
    def offline(url, target):
        raise OSError("Name or service not known")
    monkeypatch.setattr(data_download.urllib.request, "urlretrieve", offline)
    assert cli("bccd", "--root", tmp_path) == 1
    err = capsys.readouterr().err
    assert "offline" in err and "bccd --from" in err and data_download.BCCD_URL in err and leftovers(tmp_path) == []


@pytest.mark.skipif(not (REAL_ROOT / "BCCD").is_dir(), reason="real BCCD not available")
def test_import_real_bccd_from_zip_then_force(tmp_path, capsys):
    archive = make_zip(tmp_path / "BCCD_Dataset.zip", REAL_ROOT / "BCCD", f"BCCD_Dataset-{data_download.BCCD_COMMIT}/BCCD")
    root = tmp_path / "data"
    assert cli("bccd", "--from", archive, "--root", root) == 0
    assert "733 files verified" in capsys.readouterr().out
    assert data.manifest_problem(root, "bccd") is None and leftovers(root) == []
    assert cli("bccd", "--from", archive, "--root", root) == 1
    assert "--force" in capsys.readouterr().err
    (root / "BCCD" / "JPEGImages" / "BloodImage_00000.jpg").write_bytes(b"junk")
    assert cli("bccd", "--force", "--from", REAL_ROOT / "BCCD", "--root", root) == 0
    assert data.manifest_problem(root, "bccd") is None and len(data.load_bccd("real", root).images) == 364
