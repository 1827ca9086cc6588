"""A bubblewrap sandbox with cgroup limits for the kernel that runs student code.

The trusted harness (:mod:`grader_service.convert`) stays outside; only the kernel runs
inside. One :class:`SandboxCell` confines one grading job: its own cgroup(s) and the
command-line prefix that puts a kernel into them and into bubblewrap.

How a sandboxed kernel is started (service running as root, the normal case)::

    sh -c 'echo $$ > <cgroup>/cgroup.procs ...; exec "$@"' sh <procs files> -- \\
      bwrap --unshare-net --unshare-pid ... --ro-bind /usr /usr ... --bind JOB JOB -- \\
      prlimit --fsize=... --nofile=... --core=0 -- \\
      setpriv --reuid UID --regid GID --clear-groups --inh-caps=-all \\
              --bounding-set=-all --no-new-privs -- \\
      python -m ipykernel_launcher -f JOB/kernel-....json

* The shell joins the job's cgroups *before* anything else runs, so every process the
  student starts is in them (memory, pids and CPU limits; one-shot kill on close).
* bwrap is started by root *without* a user namespace: in a user namespace created by
  root, RLIMIT_NPROC is not enforced and file permissions are checked as root (ENV.md
  §4). As root, bwrap can also bind paths under ``/root`` (the Python installation may
  live in ``/root/.pyenv``, mode 700), which a real non-root uid could not.
* Only system paths are bound (read-only) plus the job directory (writable, at the same
  absolute path, so paths agree inside and out). The service data dir, the database,
  ``/root``, ``/home`` and other jobs do not exist inside.
* setpriv then drops to a real unprivileged uid/gid with no capabilities and no way to
  regain them, right before the kernel is exec'd.

Without cgroups (not root, or no writable hierarchy) the limits fall back to rlimits:
RLIMIT_AS stands in for the memory limit and RLIMIT_NPROC for the pids limit. RLIMIT_CPU
is never used: the harness already enforces per-cell and per-notebook wall-clock
timeouts, and a CPU-seconds budget would count the whole life of a kernel rather than a
cell. Without root, bwrap runs in a user namespace as the service's own uid (see
:meth:`Sandbox.job_cell`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from traitlets import Enum, Float, Integer, List, Unicode, default
from traitlets.config import LoggingConfigurable

#: Environment forced on every sandboxed kernel. ``HOME`` of the service (``/root``) does
#: not exist inside; IPython keeps its profile and history under ``$HOME``.
_TMP = "/tmp"  # noqa: S108 - inside the sandbox: a private tmpfs per job
_SANDBOX_ENV = {"HOME": _TMP, "TMPDIR": _TMP}

#: Joins the cgroups given as arguments (up to ``--``), then runs the rest.
#: ``$$`` is this shell, which then ``exec``s bwrap: nothing runs outside the cgroups.
_JOIN_CGROUPS = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot run on this host (bwrap missing or not working)."""


def _human_bytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"


def _default_readonly_paths() -> list[str]:
    paths = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"]
    paths += [sys.base_prefix, sys.prefix]
    # ipykernel may be installed outside both prefixes (user site, PYTHONPATH)
    spec_origin = _ipykernel_site()
    if spec_origin is not None:
        paths.append(spec_origin)
    return list(dict.fromkeys(paths))


def _ipykernel_site() -> str | None:
    """The site directory ipykernel is imported from, if outside the Python prefixes."""
    spec = importlib.util.find_spec("ipykernel")
    if spec is None or spec.origin is None:
        return None
    site = str(Path(spec.origin).parent.parent)
    prefixes = (sys.prefix, sys.base_prefix)
    if any(site == p or site.startswith(p.rstrip("/") + "/") for p in prefixes):
        return None
    return site


class Sandbox(LoggingConfigurable):
    """Builds per-job sandboxes (bubblewrap + cgroups) for kernels running student code."""

    mode = Enum(
        ["bwrap", "none"],
        "bwrap",
        help="""'bwrap' runs each kernel in a bubblewrap sandbox with cgroup limits.
        'none' runs student code unsandboxed with the service's own rights; only for
        development on machines without bubblewrap.""",
    ).tag(config=True)

    uid = Integer(
        1500,
        help="""Real uid the kernel runs as (when the service runs as root). Use an
        otherwise unused uid that owns no files: never 0 and never the service's uid.""",
    ).tag(config=True)

    gid = Integer(1500, help="Real gid the kernel runs as (no supplementary groups).").tag(
        config=True
    )

    memory_limit = Integer(
        1 << 30,
        help="""Bytes of memory (RSS, page cache, /tmp contents) one job may use; the
        kernel is OOM-killed beyond it. Applied to the job's memory cgroup (no swap), or
        as RLIMIT_AS (address space) when cgroups are unavailable.""",
    ).tag(config=True)

    pids_limit = Integer(
        128,
        help="""Processes and threads one job may have (pids cgroup). Without cgroups
        it becomes RLIMIT_NPROC, which counts every process of the sandbox uid.""",
    ).tag(config=True)

    cpu_limit = Float(
        1.0,
        help="""CPU cores one job may use (CFS quota). Not enforced without cgroups.""",
    ).tag(config=True)

    file_size_limit = Integer(
        100_000_000,
        help="Largest file (bytes) student code may write (RLIMIT_FSIZE).",
    ).tag(config=True)

    open_files_limit = Integer(1024, help="Open file descriptors per process (RLIMIT_NOFILE).").tag(
        config=True
    )

    tmp_size = Integer(
        64 * 1024 * 1024,
        help="""Size in bytes of the private /tmp (and /dev/shm) tmpfs of each job. Its
        contents also count towards memory_limit.""",
    ).tag(config=True)

    cgroup_root = Unicode(
        "/sys/fs/cgroup",
        help="""Where the cgroup hierarchies are mounted: cgroup v1 controllers as
        sub-directories (memory, pids, cpu, and optionally 'unified' for cgroup v2), or a
        pure cgroup v2 hierarchy.""",
    ).tag(config=True)

    cgroup_name = Unicode(
        "grader-service",
        help="Parent cgroup (created if missing) under which each job gets its own.",
    ).tag(config=True)

    readonly_paths = List(
        Unicode(),
        help="""Host paths bound read-only at the same place in the sandbox (missing ones
        are skipped, symlinks are recreated). The default holds the system and this
        Python with ipykernel; add e.g. a data set with
        ``c.Sandbox.readonly_paths.append("/srv/datasets")``. Never add the service data
        directory or ``/``.""",
    ).tag(config=True)

    masked_paths = List(
        Unicode(),
        ["/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-"],
        help="Files under readonly_paths replaced by an empty, unreadable file.",
    ).tag(config=True)

    bwrap_path = Unicode("bwrap", help="The bubblewrap executable (a name on PATH or a path).").tag(
        config=True
    )

    @default("readonly_paths")
    def _readonly_paths_default(self) -> list[str]:
        return _default_readonly_paths()

    _checked: bool = False

    @property
    def as_root(self) -> bool:
        """Whether the strong setup is possible: cgroups, setpriv and a separate uid."""
        return os.geteuid() == 0

    def check(self) -> None:
        """Fail early, with advice, if the sandbox cannot work (the result is cached).

        Runs a trivial command in the same kind of sandbox once; blocking (a few ms),
        so call it at start-up or in a thread.
        """
        if self.mode == "none":
            self.log.warning(
                "c.Sandbox.mode = 'none': student code runs UNSANDBOXED with the rights of "
                "the grading service (its files, database and network). Use only for "
                "development."
            )
            return
        if self._checked:
            return
        tools = [self.bwrap_path, "prlimit"] + (["setpriv", "sh"] if self.as_root else [])
        missing = [t for t in tools if shutil.which(t) is None]
        if missing:
            raise SandboxUnavailable(
                f"the grading sandbox needs {', '.join(missing)} on PATH: install "
                "bubblewrap (apt-get install bubblewrap) and util-linux, or set "
                "c.Sandbox.mode = 'none' for development only"
            )
        if self.as_root and self.uid in (0, os.getuid()):
            raise SandboxUnavailable(
                f"c.Sandbox.uid = {self.uid} is the service's own uid; choose an unused one"
            )
        argv = [*self._bwrap_argv(None), "--", "true"]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        if proc.returncode != 0:
            raise SandboxUnavailable(
                f"bubblewrap does not work here ({proc.stderr.strip() or proc.returncode}); "
                "it needs unprivileged user namespaces or root (check "
                "kernel.unprivileged_userns_clone / user.max_user_namespaces), or set "
                "c.Sandbox.mode = 'none' for development only"
            )
        self._checked = True

    def job_cell(self, job_dir: Path) -> SandboxCell:
        """Create the confinement of one job whose files live in ``job_dir``.

        As root, ``job_dir`` is given to the sandbox uid (mode 0700) and the job gets
        cgroups; the caller must :meth:`SandboxCell.close` the cell.
        """
        job_dir = Path(job_dir).resolve()
        if self.mode == "none":
            return SandboxCell(self, job_dir, [], confined=False)
        cgroups: list[_Cgroup] = []
        if self.as_root:
            os.chown(job_dir, self.uid, self.gid)
            job_dir.chmod(0o700)
            cgroups = self._make_cgroups(f"{job_dir.name}-{uuid.uuid4().hex[:8]}")
        return SandboxCell(self, job_dir, cgroups, confined=True)

    # -- cgroups -----------------------------------------------------------------------

    @functools.cached_property
    def _layout(self) -> str:
        """'v2' (pure cgroup v2), 'v1' (v1 controllers, maybe a v2 'unified') or 'none'."""
        root = Path(self.cgroup_root)
        if (root / "cgroup.controllers").exists():
            wanted = {"memory", "pids", "cpu"}
            if wanted <= set((root / "cgroup.controllers").read_text().split()):
                return "v2"
        elif (root / "memory" / "memory.limit_in_bytes").exists():
            return "v1"
        self.log.warning(
            "No usable cgroups under %s: memory and process limits fall back to rlimits, "
            "CPU is not limited",
            root,
        )
        return "none"

    def _make_cgroups(self, unique: str) -> list[_Cgroup]:
        """Create the job's cgroups with their limits; [] if cgroups are not writable."""
        try:
            if self._layout == "v2":
                return [self._make_v2(unique)]
            if self._layout == "v1":
                return self._make_v1(unique)
        except OSError as exc:
            # e.g. a read-only /sys/fs/cgroup in a container: keep going on rlimits
            self.log.warning("Cannot create cgroups (%s); falling back to rlimits", exc)
        return []

    def _make_v2(self, unique: str) -> _Cgroup:
        root = Path(self.cgroup_root)
        parent = root / self.cgroup_name
        parent.mkdir(exist_ok=True)
        for level in (root, parent):
            enabled = (level / "cgroup.subtree_control").read_text().split()
            for ctrl in ("memory", "pids", "cpu"):
                if ctrl not in enabled:
                    (level / "cgroup.subtree_control").write_text(f"+{ctrl}")
        cg = _Cgroup(parent / unique, "v2")
        cg.path.mkdir()
        cg.write("memory.max", str(self.memory_limit))
        cg.write("memory.swap.max", "0", optional=True)
        cg.write("pids.max", str(self.pids_limit))
        cg.write("cpu.max", f"{int(self.cpu_limit * 100_000)} 100000")
        return cg

    def _make_v1(self, unique: str) -> list[_Cgroup]:
        root = Path(self.cgroup_root)
        made: list[_Cgroup] = []
        try:
            for ctrl in ("memory", "pids", "cpu"):
                cg = _Cgroup(root / ctrl / self.cgroup_name / unique, ctrl)
                cg.path.mkdir(parents=True)
                made.append(cg)
                if ctrl == "memory":
                    cg.write("memory.limit_in_bytes", str(self.memory_limit))
                    # memsw = mem + swap; equal means no swap (absent without swap accounting)
                    cg.write("memory.memsw.limit_in_bytes", str(self.memory_limit), optional=True)
                elif ctrl == "pids":
                    cg.write("pids.max", str(self.pids_limit))
                else:
                    cg.write("cpu.cfs_period_us", "100000")
                    cg.write("cpu.cfs_quota_us", str(int(self.cpu_limit * 100_000)))
            # A hybrid host's v2 hierarchy offers cgroup.kill: one atomic kill of the job,
            # even while it forks, instead of chasing pids.
            unified = root / "unified"
            if (unified / "cgroup.procs").exists():
                with contextlib.suppress(OSError):
                    cg = _Cgroup(unified / self.cgroup_name / unique, "unified")
                    cg.path.mkdir(parents=True)
                    made.append(cg)
        except OSError:
            for cg in made:
                with contextlib.suppress(OSError):
                    cg.path.rmdir()
            raise
        return made

    # -- command line ------------------------------------------------------------------

    def _bwrap_argv(self, job_dir: Path | None) -> list[str]:
        """bwrap and its options (without the command), binding ``job_dir`` writable."""
        argv = [
            self.bwrap_path,
            "--unshare-net",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "sandbox",
            "--die-with-parent",
            # no controlling terminal to push input into (TIOCSTI)
            "--new-session",
            # ipykernel watches its parent JPY_PARENT_PID (the harness, invisible in the
            # pid namespace) and would exit at once. 1 (bwrap's init, the real parent
            # here) means "no polling"; --die-with-parent covers the harness's death.
            "--setenv",
            "JPY_PARENT_PID",
            "1",
        ]
        if self.as_root:
            # setpriv needs these three to drop to the sandbox uid; it then drops them too
            argv += ["--cap-drop", "ALL"]
            for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP"):
                argv += ["--cap-add", cap]
        else:
            argv += ["--unshare-user", "--uid", str(self.uid), "--gid", str(self.gid)]
        binds = [p for p in self.readonly_paths if os.path.lexists(p)]
        # a path under /tmp (a checkout's .venv in CI, say) is bound after the private
        # /tmp is mounted, or the tmpfs would hide it
        private = [_TMP, "/dev/shm"]  # noqa: S108
        late = [p for p in binds if _under(p, private)]
        mounted: list[str] = []
        for path in sorted(set(binds) - set(late), key=lambda p: p.count("/")):
            argv += self._parents(path, mounted)
            argv += self._ro_bind(path)
            mounted.append(path)
        for path in self.masked_paths:
            if Path(path).exists() and _under(path, mounted):
                argv += ["--ro-bind", "/dev/null", path]
        size = str(self.tmp_size)
        argv += ["--perms", "1777", "--size", size, "--tmpfs", _TMP]
        argv += ["--proc", "/proc", "--dev", "/dev"]
        argv += ["--perms", "1777", "--size", size, "--tmpfs", "/dev/shm"]  # noqa: S108
        for path in sorted(late, key=lambda p: p.count("/")):
            argv += self._parents(path, mounted, made=set(private))
            argv += self._ro_bind(path)
            mounted.append(path)
        if job_dir is not None:
            # after /tmp: a job dir under /tmp must not be hidden by the tmpfs
            argv += self._parents(str(job_dir), mounted, made={_TMP})
            argv += ["--bind", str(job_dir), str(job_dir)]
        return argv

    @staticmethod
    def _ro_bind(path: str) -> list[str]:
        """Bind ``path`` read-only (a symlink is recreated, not followed)."""
        if Path(path).is_symlink():
            return ["--symlink", str(Path(path).readlink()), path]
        return ["--ro-bind", path, path]

    @staticmethod
    def _parents(path: str, mounted: list[str], made: set[str] | None = None) -> list[str]:
        """``--dir`` for the missing parents of ``path``: bwrap would make them 0700.

        Parents inside a ``mounted`` (bound) tree exist already; ``made`` are mount
        points (tmpfs) that exist but whose contents do not.
        """
        out: list[str] = []
        parent = Path(path).parent
        for p in reversed([parent, *parent.parents]):
            if str(p) != "/" and str(p) not in (made or set()) and not _under(str(p), mounted):
                out += ["--perms", "0755", "--dir", str(p)]
        return out

    def _limit_argv(self, cgroups: list[_Cgroup]) -> list[str]:
        """prlimit with the rlimits that apply given the job's cgroups."""
        kinds = {cg.kind for cg in cgroups}
        argv = [
            "prlimit",
            f"--fsize={self.file_size_limit}",
            f"--nofile={self.open_files_limit}",
            "--core=0",
        ]
        # RLIMIT_NPROC counts all processes of the uid on the host, so with a pids cgroup
        # it would only let one job's fork bomb starve the other jobs: leave it unset.
        if not kinds & {"pids", "v2"}:
            argv.append(f"--nproc={self.pids_limit}")
        # RLIMIT_AS is a crude stand-in (it counts reserved, not used memory).
        if not kinds & {"memory", "v2"}:
            argv.append(f"--as={self.memory_limit}")
        return [*argv, "--"]


def _under(path: str, mounted: list[str]) -> bool:
    return any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounted)


class _Cgroup:
    """One cgroup directory of a job; ``kind`` is a v1 controller, 'unified' or 'v2'."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path = path
        self.kind = kind

    def write(self, name: str, value: str, optional: bool = False) -> None:
        try:
            (self.path / name).write_text(value)
        except FileNotFoundError:
            if not optional:
                raise

    def read_stat(self, name: str, key: str | None = None) -> int:
        """``key``'s value in a flat-keyed file such as memory.events, or the number in a
        one-value file such as memory.failcnt (``key=None``); 0 if absent."""
        with contextlib.suppress(OSError, ValueError):
            text = (self.path / name).read_text()
            if key is None:
                return int(text)
            for line in text.splitlines():
                k, _, v = line.partition(" ")
                if k == key:
                    return int(v)
        return 0

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
        except FileNotFoundError:
            return []


class SandboxCell:
    """The confinement of one job: its cgroups and the command prefix that enters them."""

    def __init__(
        self, sandbox: Sandbox, job_dir: Path, cgroups: list[_Cgroup], *, confined: bool
    ) -> None:
        self.sandbox = sandbox
        self.job_dir = job_dir
        self.confined = confined
        self._cgroups = cgroups
        self._closed = False

    def argv_prefix(self) -> list[str]:
        """Words to put before a kernel command line so that it runs in this cell."""
        if not self.confined:
            return []
        sb = self.sandbox
        inner = [*sb._bwrap_argv(self.job_dir), "--", *sb._limit_argv(self._cgroups)]
        if sb.as_root:
            inner += [
                "setpriv",
                f"--reuid={sb.uid}",
                f"--regid={sb.gid}",
                "--clear-groups",
                "--inh-caps=-all",
                "--bounding-set=-all",
                "--no-new-privs",
                "--",
            ]
        if not self._cgroups:
            return inner
        procs = [str(cg.path / "cgroup.procs") for cg in self._cgroups]
        return ["sh", "-c", _JOIN_CGROUPS, "sh", *procs, "--", *inner]

    def env_for_kernel(self, env: dict[str, str]) -> dict[str, str]:
        """``env`` with the variables the sandbox imposes (HOME and TMPDIR in /tmp)."""
        return {**env, **_SANDBOX_ENV} if self.confined else dict(env)

    def chown_for_sandbox(self, path: Path) -> None:
        """Give ``path`` (a file or tree in the job dir) to the sandbox uid, if root.

        Symlinks are not followed: a submission could point one anywhere on the host.
        """
        path = Path(path)
        if not self.confined or not self.sandbox.as_root:
            return
        if not _under(str(path.resolve()), [str(self.job_dir)]):
            raise ValueError(f"{path} is not inside the job directory {self.job_dir}")
        uid, gid = self.sandbox.uid, self.sandbox.gid
        os.lchown(path, uid, gid)
        for top, dirs, files in os.walk(path):
            for name in dirs + files:
                os.lchown(Path(top) / name, uid, gid)

    # -- what happened -----------------------------------------------------------------

    def _stat(self, kinds: tuple[str, ...], name: str, key: str | None) -> int:
        return sum(cg.read_stat(name, key) for cg in self._cgroups if cg.kind in kinds)

    def oom_killed(self) -> bool:
        """Whether the kernel (or a child) was killed for exceeding the memory limit."""
        return (
            self._stat(("memory",), "memory.oom_control", "oom_kill")
            + self._stat(("v2",), "memory.events", "oom_kill")
        ) > 0

    def memory_failcnt(self) -> int:
        """How often the job hit its memory limit (the kernel reclaims before it kills)."""
        return self._stat(("memory",), "memory.failcnt", None) + self._stat(
            ("v2",), "memory.events", "max"
        )

    def pids_limit_hit(self) -> bool:
        """Whether a fork or thread creation failed because of the pids limit."""
        return self._stat(("pids", "v2"), "pids.events", "max") > 0

    def describe_death(self) -> str | None:
        """Why the job's processes were stopped by a limit, for people; None if unknown."""
        sb = self.sandbox
        reasons = []
        if self.oom_killed():
            reasons.append(
                f"the kernel was killed: memory limit of {_human_bytes(sb.memory_limit)} exceeded"
            )
        if self.pids_limit_hit():
            reasons.append(f"the process limit of {sb.pids_limit} processes/threads was reached")
        return "; ".join(reasons) or None

    @property
    def cgroup_paths(self) -> list[Path]:
        """The job's cgroup directories (empty without cgroups)."""
        return [cg.path for cg in self._cgroups]

    def processes(self) -> list[int]:
        """Host pids of the processes still in this cell (empty without cgroups)."""
        return sorted({pid for cg in self._cgroups for pid in cg.pids()})

    async def close(self, grace: float = 5.0) -> None:
        """Kill every process left in the cell and remove its cgroups (idempotent)."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        for cg in self._cgroups:
            if cg.kind in ("unified", "v2"):
                cg.write("cgroup.kill", "1", optional=True)
        remaining = list(self._cgroups)
        while remaining:
            # backstop for kernels without cgroup.kill: kill what is listed until empty
            for pid in self.processes():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            for cg in list(remaining):
                try:
                    cg.path.rmdir()
                    remaining.remove(cg)
                except FileNotFoundError:
                    remaining.remove(cg)
                except OSError as exc:
                    if exc.errno != errno.EBUSY:
                        raise
            if remaining:
                if loop.time() > deadline:
                    self.sandbox.log.error(
                        "Could not remove cgroups %s: processes remain",
                        [str(cg.path) for cg in remaining],
                    )
                    return
                await asyncio.sleep(0.02)
