"""The course datasets: facts (catalog), where they live (location), their layouts (layout), reading files
(reading), real or stand-in (sources), loaders, splits, integrity checks and the procedural stand-ins (standins).

Notebooks call what this page exports, e.g. `datasets.load_drive(cfg.source, cfg.root)`; nothing in this
subpackage trains, plots or imports the rest of course_utils (except the stdlib-only `atomic` writer). The names
are loaded on first use, so `from course_utils.datasets import location` (the data command's --help) stays cheap.
"""
import importlib

_EXPORTS = {
    "catalog": ("DATASETS", "DRIVE_SIZE", "FASHION_CLASSES", "FASHION_COUNTS", "SOURCES"),
    "integrity": ("dataset_status", "verify_dataset"),
    "loaders": ("BloodSmearData", "CellData", "DriveData", "DriveImage", "FashionMNISTData", "SmearData",
                "load_all_idb1", "load_all_idb2", "load_bccd", "load_drive", "load_fashion_mnist"),
    "reading": ("DataError",),
    "sources": ("resolve_source",),
    "splits": ("DriveSplit", "FashionSplits", "drive_validation_split", "fashion_splits", "stratified_split",
               "validation_split"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name):
    """Load an exported name from its module on first use (PEP 562)."""
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
