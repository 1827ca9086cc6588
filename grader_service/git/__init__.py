"""Repositories on disk: layout, creation, push policy and service-side commits.

No tornado here: the smart-HTTP handler in ``handlers/git.py`` drives these functions,
and so do the release and grading code.
"""

from .layout import RepoAddress, RepoType, parse_repo_url
from .policy import PushPolicy

__all__ = ["PushPolicy", "RepoAddress", "RepoType", "parse_repo_url"]
