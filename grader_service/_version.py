"""The version of grader-service, read by the build backend and the service."""

__version__ = "0.1.0"
