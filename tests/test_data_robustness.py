"""The data command where a student or a shared hub breaks things (issue 30 items 3, 4, 5, 8): one-line errors
with the fix instead of tracebacks, archives checked before anything is written, only the layout's files
imported, errors that name the file the user gave, leftovers cleaned, help that says what and how, fast --help."""
import builtins
import errno
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from course_utils import data_download
from course_utils.datasets import catalog, location
from course_utils.datasets.integrity import manifest_path

ROOT = Path(__file__).resolve().parent.parent


def cli(capsys, *args):
    """Exit code and stdout + stderr of one data command."""
    code = data_download.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out + out.err


def one_line_error(code, out):
    errors = [line for line in out.splitlines() if line.startswith("error: ")]
    return code == 1 and "Traceback" not in out and len(errors) == 1


def zip_folder(path, folder, prefix, extra=()):
    """Zip the files under folder as prefix/<relative path>, then add (ZipInfo or name, bytes) entries."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, f"{prefix}/{file.relative_to(folder).as_posix()}")
        for info, data in extra:
            archive.writestr(info, data)
    return path


@pytest.fixture
def drive_copy(tmp_path, drive_template):
    """A private copy of the tiny DRIVE download: <tmp>/download/DRIVE."""
    shutil.copytree(drive_template, tmp_path / "download" / "DRIVE")
    return tmp_path / "download" / "DRIVE"


def leftovers(root):
    return sorted(p.name for p in root.glob(".import-*")) if root.exists() else []


# ---------------------------------------------------------------- item 3: one-line errors with a fix
def test_read_only_data_root_is_one_line_with_the_fix(tmp_path, drive_copy, capsys, monkeypatch):
    root = tmp_path / "shared"
    root.mkdir()
    real_mkdir = os.mkdir

    def read_only(path, *args, **kwargs):  # the tests run as root, which chmod cannot stop: refuse like EROFS
        if Path(path).parent == root:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_mkdir(path, *args, **kwargs)
    monkeypatch.setattr(os, "mkdir", read_only)
    code, out = cli(capsys, "drive", "--from", drive_copy, "--root", root)
    assert one_line_error(code, out) and f"cannot write into the data root {root}" in out and "--root" in out


def test_disk_full_while_extracting_is_one_line_naming_the_entry(tmp_path, drive_copy, capsys, monkeypatch):
    archive = zip_folder(tmp_path / "DRIVE.zip", drive_copy, "DRIVE")
    root = tmp_path / "data"
    real_open = builtins.open

    class Full:
        def __init__(self, handle):
            self.handle = handle

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    def full_disk(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        return Full(handle) if "w" in mode and "b" in mode and ".import-" in str(path) else handle
    monkeypatch.setattr(builtins, "open", full_disk)
    code, out = cli(capsys, "drive", "--from", archive, "--root", root)
    monkeypatch.undo()
    assert one_line_error(code, out) and "disk filled up" in out and f"{archive}, entry DRIVE/" in out
    assert not (root / "DRIVE").exists() and leftovers(root) == []


def test_zip_entry_that_is_a_directory_symlink_is_refused(tmp_path, drive_copy, capsys):
    link = zipfile.ZipInfo("DRIVE/training/images")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = zip_folder(tmp_path / "DRIVE.zip", drive_copy, "DRIVE", extra=[(link, "/etc")])
    code, out = cli(capsys, "drive", "--from", archive, "--root", tmp_path / "data")
    assert one_line_error(code, out) and "'DRIVE/training/images' is a symbolic link" in out
    assert not (tmp_path / "data").exists()


def test_synthetic_on_a_read_only_root_is_one_line(tmp_path, capsys, monkeypatch):
    root = tmp_path / "shared"
    root.mkdir()
    real_mkdir = os.mkdir

    def read_only(path, *args, **kwargs):
        if str(path).startswith(str(root)):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_mkdir(path, *args, **kwargs)
    monkeypatch.setattr(os, "mkdir", read_only)
    code, out = cli(capsys, "synthetic", "--root", root)
    assert one_line_error(code, out) and "cannot write the synthetic stand-in" in out and "COURSE_DATA" in out


# ---------------------------------------------------------------- item 4: imports that cannot fit
def test_archive_beyond_the_catalog_size_is_refused_before_writing(tmp_path, drive_copy, capsys, monkeypatch):
    zeros = zipfile.ZipInfo("DRIVE/training/images/21_training.tif")
    zeros.compress_type = zipfile.ZIP_DEFLATED
    (drive_copy / "training" / "images" / "21_training.tif").unlink()
    archive = zip_folder(tmp_path / "DRIVE.zip", drive_copy, "DRIVE", extra=[(zeros, bytes(64 << 20))])
    assert archive.stat().st_size < 4 << 20  # 64 MB of zeros in a small zip
    monkeypatch.setitem(catalog.IMPORT_LIMIT_BYTES, "drive", 16 << 20)
    written = []
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda p, m="r", *a, **k: (written.append(p) if "w" in m and
                        ".import-" in str(p) and "new" in str(p) else None) or real_open(p, m, *a, **k))
    code, out = cli(capsys, "drive", "--from", archive, "--root", tmp_path / "data")
    monkeypatch.undo()
    assert one_line_error(code, out) and "MB of DRIVE files, more than the 17 MB" in out
    assert "nothing was written" in out
    assert written == []


def test_not_enough_free_space_is_refused_before_writing(tmp_path, drive_copy, capsys, monkeypatch):
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10 << 30, 10 << 30, 1000))
    code, out = cli(capsys, "drive", "--from", drive_copy, "--root", tmp_path / "data")
    assert one_line_error(code, out) and "not enough free space" in out and "MB free" in out


def test_only_the_files_of_the_layout_are_imported(tmp_path, drive_copy, capsys):
    (drive_copy / "training" / "images" / "notes.txt").write_text("not part of DRIVE")
    (drive_copy / "training" / "extra").mkdir()
    (drive_copy / "training" / "extra" / "big.bin").write_bytes(bytes(1000))
    root = tmp_path / "data"
    code, out = cli(capsys, "drive", "--from", drive_copy, "--root", root)
    assert code == 0, out
    assert not (root / "DRIVE" / "training" / "images" / "notes.txt").exists()
    assert not (root / "DRIVE" / "training" / "extra").exists()
    manifest = manifest_path(root, "drive").read_text()
    assert "notes.txt" not in manifest and "big.bin" not in manifest and manifest.count("\n") == 140


def test_folder_import_never_follows_links_out_of_the_source(tmp_path, drive_copy, capsys):
    private = tmp_path / "private.txt"
    private.write_text("a secret")
    image = drive_copy / "training" / "images" / "21_training.tif"
    image.unlink()
    image.symlink_to(private)
    root = tmp_path / "data"
    code, out = cli(capsys, "drive", "--from", drive_copy, "--root", root)
    assert one_line_error(code, out) and "symbolic link" in out and str(private) in out
    assert not any("a secret" in p.read_text(errors="ignore") for p in root.rglob("*") if p.is_file())


# ---------------------------------------------------------------- item 5: errors that point at the right place
def test_errors_name_the_zip_entry_not_the_staging_path(tmp_path, drive_copy, capsys):
    (drive_copy / "test" / "images" / "03_test.tif").write_bytes(b"broken")
    archive = zip_folder(tmp_path / "DRIVE.zip", drive_copy, "datasets/DRIVE")
    code, out = cli(capsys, "drive", "--from", archive, "--root", tmp_path / "data")
    assert one_line_error(code, out) and f"{archive}, entry datasets/DRIVE/test/images/03_test.tif" in out
    assert ".import-" not in out


def test_command_line_imports_are_not_told_about_the_parameters_cell(tmp_path, drive_copy, capsys):
    (drive_copy / "test" / "mask" / "05_test_mask.gif").unlink()
    code, out = cli(capsys, "drive", "--from", drive_copy, "--root", tmp_path / "data")
    assert one_line_error(code, out) and "05_test_mask.gif" in out
    assert "parameters cell" not in out and ".import-" not in out


@pytest.mark.parametrize("wrong", ["21_training.TIF", "21_training.tiff", "21_training.Tif"])
def test_near_miss_names_are_reported_as_such(tmp_path, drive_copy, capsys, wrong):
    image = drive_copy / "training" / "images" / "21_training.tif"
    image.rename(image.with_name(wrong))
    code, out = cli(capsys, "drive", "--from", drive_copy, "--root", tmp_path / "data")
    assert one_line_error(code, out) and wrong in out and "'21_training.tif'" in out and "rename" in out


def test_gif_near_miss_in_a_zip(tmp_path, drive_copy, capsys):
    mask = drive_copy / "test" / "mask" / "01_test_mask.gif"
    mask.rename(mask.with_name("01_test_mask.Gif"))
    archive = zip_folder(tmp_path / "DRIVE.zip", drive_copy, "DRIVE")
    code, out = cli(capsys, "drive", "--from", archive, "--root", tmp_path / "data")
    assert one_line_error(code, out) and "entry DRIVE/test/mask/01_test_mask.Gif" in out


def test_a_later_import_cleans_leftovers_but_keeps_an_only_copy(tmp_path, drive_copy, capsys):
    root = tmp_path / "data"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = root / ".import-DRIVE-stale1"
    stale.mkdir(parents=True)
    (stale / "owner").write_text(f"{__import__('socket').gethostname()} {dead.stdout.strip()}\n")
    (stale / "unpacked0").mkdir()
    only_copy = root / ".import-ALL_IDB-stale2"
    (only_copy / "old" / "ALL_IDB").mkdir(parents=True)  # ALL_IDB is not in the root: this is its only copy
    os.utime(only_copy, (0, 0))
    code, out = cli(capsys, "drive", "--from", drive_copy, "--root", root)
    assert code == 0, out
    assert leftovers(root) == [only_copy.name] and "removed" in out


def test_status_advises_old_only_when_there_is_one_and_keeps_columns(tmp_path, capsys):
    root = tmp_path / "data"
    (root / ".import-DRIVE-abc12345").mkdir(parents=True)
    (root / ".import-BCCD-def67890" / "old" / "BCCD").mkdir(parents=True)
    code, out = cli(capsys, "status", "--root", root)
    lines = out.splitlines()
    plain = next(i for i, ln in enumerate(lines) if ln.startswith(".import-DRIVE"))
    kept = next(i for i, ln in enumerate(lines) if ln.startswith(".import-BCCD"))
    assert "old/" not in " ".join(lines[plain:plain + 3]) and "old/" in " ".join(lines[kept:kept + 3])
    for line in (lines[plain], lines[kept]):
        name, state, path = [part for part in line.split("  ") if part.strip()]
        assert state.strip() == "leftover temp folder" and path.strip().startswith(str(root))
    assert lines[plain].index("leftover") == lines[1].index(lines[1].split()[1])  # the same column as the datasets


def test_a_failed_import_leaves_no_empty_data_root(tmp_path, drive_copy, capsys):
    (drive_copy / "test" / "images" / "03_test.tif").write_bytes(b"broken")
    root = tmp_path / "new" / "data"
    code, out = cli(capsys, "drive", "--from", drive_copy, "--root", root)
    assert code == 1 and not (tmp_path / "new").exists()


# ---------------------------------------------------------------- item 8: the command line's help
@pytest.mark.parametrize("command,words", [("drive", "registration"), ("bccd", "BCCD"),
                                           ("resnet18-weights", "torch hub"), ("status", "Report")])
def test_subcommand_help_has_a_description_and_an_example(command, words, capsys):
    with pytest.raises(SystemExit):
        data_download.main([command, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert words in out and f"example: {location.DATA_COMMAND} {command}" in out


def test_root_help_names_the_real_default(monkeypatch, capsys):
    monkeypatch.delenv("COURSE_DATA", raising=False)
    with pytest.raises(SystemExit):
        data_download.main(["status", "--help"])
    assert str(location.default_data_root()) in capsys.readouterr().out.replace("\n", "").replace(" ", "")
    monkeypatch.setenv("COURSE_DATA", "/srv/course-data")
    with pytest.raises(SystemExit):
        data_download.main(["status", "--help"])
    assert "/srv/course-data" in capsys.readouterr().out


def test_help_parses_before_importing_torch():
    code = ("import sys\nfrom course_utils import data_download\ntry:\n    data_download.main(['drive', '--help'])\n"
            "except SystemExit:\n    pass\n"
            "print('torch' in sys.modules, 'course_utils.datasets.loaders' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), check=True).stdout
    assert out.split()[-2:] == ["False", "False"]


# ---------------------------------------------------------------- the one temp-then-rename writer
WRITER = """
import sys
from pathlib import Path
from course_utils.atomic import write_atomically
target, tag = Path(sys.argv[1]), sys.argv[2]
for i in range(10):
    write_atomically(target, lambda tmp: tmp.write_bytes(tag.encode() * 200000))
"""


def test_two_processes_writing_one_file_both_finish_and_the_file_is_whole(tmp_path):
    target = tmp_path / "shared.bin"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(target), tag], env=env, stderr=subprocess.PIPE)
               for tag in "ab"]
    errors = [w.communicate()[1].decode() for w in writers]
    assert [w.returncode for w in writers] == [0, 0], errors
    assert target.read_bytes() in (b"a" * 200000, b"b" * 200000)
    assert [p.name for p in tmp_path.iterdir()] == ["shared.bin"]  # no temp file left


def test_a_failed_write_leaves_no_temp_file(tmp_path):
    from course_utils.atomic import write_atomically

    def broken(tmp):
        tmp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(OSError):
        write_atomically(tmp_path / "out.bin", broken)
    assert list(tmp_path.iterdir()) == []
