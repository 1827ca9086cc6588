"""Repositories on disk: layout, creation, push policy and service-side commits.

No tornado here: the smart-HTTP handler in ``handlers/git.py`` drives these modules,
and so do the release and grading code. ``pre-receive.sh`` is the hook every push
runs.
"""
