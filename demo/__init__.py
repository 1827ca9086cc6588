"""The one-command demo of grader-service: ``python3 dev.py demo`` (see ``demo.launch``)."""
