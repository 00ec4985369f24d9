"""Test-wide settings: smoke schedules for unit tests and for the nbval kernels they start."""
import os

os.environ.setdefault("COURSE_SMOKE", "1")
