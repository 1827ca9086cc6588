"""The grading concern: job queue, executors and their limits (no tornado here)."""

from .limits import CellTimeoutPolicy, ImagePolicy

__all__ = ["CellTimeoutPolicy", "ImagePolicy"]
