"""Procedural stand-ins for the course datasets, written in the official layouts and formats, one module each.

They let every notebook run offline when the real data is absent: the loaders call MAKERS on first use and
`data_download.py synthetic` calls them up front. Each is deterministic for a seed and written atomically.
"""
from .all_idb import make_all_idb
from .bccd import make_bccd
from .drive import make_drive
from .fashion import make_fashion_mnist

MAKERS = {"fashion_mnist": make_fashion_mnist, "drive": make_drive, "all_idb": make_all_idb, "bccd": make_bccd}
