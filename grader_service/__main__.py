"""``python -m grader_service`` is ``grader-service``."""

from .app import main

main()
