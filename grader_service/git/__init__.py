"""Repositories on disk: layout, creation, push policy and service-side commits.

No tornado here: the smart-HTTP handler in ``handlers/git.py`` drives these modules,
and so do the release and grading code. This package imports nothing at import time:
the pre-receive hook (``pre_receive``) starts a Python for every push and must start
fast.
"""
