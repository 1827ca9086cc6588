"""The pre-receive hook: refuse pushes that break the push policy.

git runs this (through the small script the service writes into its hooks directory)
before it updates any ref. Whatever we print goes to the pushing user's terminal,
prefixed with "remote:"; a non-zero exit refuses the whole push and leaves the
repository unchanged.
"""

from __future__ import annotations

import os
import subprocess
import sys

from .policy import POLICY_ENV, PushPolicy, human_size

ZERO = "0" * 40


def _git(*args: str, input: str | None = None) -> str:
    return subprocess.run(
        ["git", *args], input=input, capture_output=True, text=True, check=True
    ).stdout


def violations(policy: PushPolicy, old: str, new: str) -> list[str]:
    """What is wrong with updating a ref from ``old`` to ``new`` (empty if nothing)."""
    if set(new) == {"0"}:
        return []  # deleting a ref adds no content
    problems: list[str] = []
    # every object the push brings, with the path it was first seen at
    objects = _git("rev-list", "--objects", new, "--not", "--all").splitlines()
    paths = {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in objects if " " in line}
    if paths:
        checked = _git(
            "cat-file",
            "--batch-check=%(objectname) %(objecttype) %(objectsize)",
            input="\n".join(paths) + "\n",
        )
        for line in checked.splitlines():
            name, kind, size = line.split()
            if kind == "blob" and int(size) > policy.max_file_size:
                problems.append(
                    f"{paths[name]}: {human_size(int(size))} is larger than the limit of "
                    f"{human_size(policy.max_file_size)}"
                )
    tree = [p for p in _git("ls-tree", "-r", "--name-only", "-z", new).split("\0") if p]
    if len(tree) > policy.max_file_count:
        problems.append(
            f"{len(tree)} files is more than the limit of {policy.max_file_count} files"
        )
    for path in tree:
        if not policy.allows_path(path):
            allowed = ", ".join(policy.allowed_globs or ())
            problems.append(f"{path}: this file type may not be submitted (allowed: {allowed})")
    return problems


def main() -> int:
    """Read ``old new ref`` lines from git and refuse the push on any violation."""
    text = os.environ.get(POLICY_ENV)
    if not text:
        print("grader-service: push policy missing; refusing the push", file=sys.stderr)
        return 1
    policy = PushPolicy.from_env(text)
    problems: list[str] = []
    for line in sys.stdin:
        if not line.strip():
            continue
        old, new, ref = line.split()
        problems += [f"{ref}: {p}" for p in violations(policy, old, new)]
    if problems:
        print("grader-service refused this push:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        print("Remove or shrink these files, commit, and push again.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
