"""Keeping the grading harness out of reach of student code that runs as the same user.

On the service host the kernel runs in a sandbox under another uid, so it cannot touch
the harness. In a grading pod both run as the pod's one non-root user, and student code
could otherwise attach to the harness (ptrace, ``/proc/<pid>/mem``) or leave a
background process behind that rewrites ``gradebook.json`` after the harness wrote it.
Two Linux process attributes close both doors:

* ``PR_SET_DUMPABLE = 0``: processes of the same uid may no longer ptrace the harness
  or open its memory;
* ``PR_SET_CHILD_SUBREAPER``: every process started under the harness, double-forked
  daemons included, stays its descendant, so :func:`reap_descendants` finds and kills
  them all before any result is written.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time
from pathlib import Path

_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER = 36


def guard_harness() -> bool:
    """Make this process non-dumpable and a child subreaper; False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    dumpable = libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
    subreaper = libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    return dumpable and subreaper


def _parents() -> dict[int, int]:
    """pid -> parent pid of every running process visible in /proc (no zombies)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it exited meanwhile
        # "pid (comm) state ppid ...": comm may contain spaces and parentheses
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] in ("Z", "X"):
            continue  # already dead: nothing to kill, waitpid collects it
        parents[int(entry.name)] = int(fields[1])
    return parents


def descendants(pid: int | None = None) -> set[int]:
    """Every living process below ``pid`` (default: this process)."""
    root = os.getpid() if pid is None else pid
    children: dict[int, list[int]] = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    found: set[int] = set()
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def reap_descendants(timeout: float = 5.0) -> int:
    """SIGKILL every descendant (again, until none is left) and collect the zombies.

    Returns how many processes were killed. Call it once the kernels are shut down and
    before writing results: anything still running then was left behind on purpose.
    """
    killed: set[int] = set()
    deadline = time.monotonic() + timeout
    while True:
        alive = descendants()
        for pid in alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        killed |= alive
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        if not alive or time.monotonic() > deadline:
            return len(killed)
        time.sleep(0.02)
