"""Reads and writes of the grading domain over the ORM (no HTTP).

Handlers call these; so will the scheduler and the command-line tools. Each function
works inside the caller's session and transaction and never commits.
"""
