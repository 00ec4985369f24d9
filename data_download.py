#!/usr/bin/env python
"""Shim for a checkout: `python data_download.py ...` runs `python -m course_utils.data_download ...`."""
import sys

from course_utils.data_download import main

if __name__ == "__main__":
    sys.exit(main())
