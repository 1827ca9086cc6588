"""The grading concern: job queue, executors and their limits (no tornado here)."""

from .limits import CellTimeoutPolicy

__all__ = ["CellTimeoutPolicy"]
