"""The bubblewrap sandbox and the warm kernel pool, with real kernels, bwrap and cgroups.

Each hostile notebook must end as failed cells with a reason, never as a crash of the
harness (this process) or a process left behind.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from nbformat.v4 import new_code_cell, new_notebook

from grader_service.autograding.kernel_pool import KernelPool, Slot
from grader_service.autograding.sandbox import Sandbox, SandboxUnavailable
from grader_service.convert import CellRun, NotebookRunner

MEMORY = 256 << 20
PIDS = 32
FSIZE = 10 << 20
TMP = 16 << 20


def _unavailable() -> str | None:
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    if os.geteuid() != 0:
        return "needs root: cgroups and a separate sandbox uid (setpriv) are root-only"
    if (
        not Path("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists()
        and not Path("/sys/fs/cgroup/cgroup.controllers").exists()
    ):
        return "no cgroup hierarchy mounted"
    try:
        Sandbox().check()
    except SandboxUnavailable as exc:
        return str(exc)
    return None


_REASON = _unavailable()
pytestmark = [
    pytest.mark.skipif(_REASON is not None, reason=_REASON or ""),
    pytest.mark.asyncio(loop_scope="module"),
]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def pool() -> AsyncIterator[KernelPool]:
    """Two warm kernels with small limits, shared by the tests of this module."""
    # short: kernel sockets live in the slot dirs (Unix socket paths <= 107 bytes)
    base = Path(tempfile.mkdtemp(prefix="gs-"))
    sandbox = Sandbox(memory_limit=MEMORY, pids_limit=PIDS, file_size_limit=FSIZE, tmp_size=TMP)
    env = NotebookRunner().launcher.kernel_env(
        {"NBGRADER_EXECUTION": "autograde", "PYTHONSAFEPATH": "1"}
    )
    kp = KernelPool(sandbox=sandbox, work_root=str(base / "w"), kernel_env=env, size=2)
    await kp.start()
    yield kp
    await kp.stop()
    shutil.rmtree(base, ignore_errors=True)


async def _wait_warm(pool: KernelPool, n: int = 1) -> None:
    for _ in range(300):
        if pool.ready_count >= n:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the pool did not warm up")


async def _run(
    slot: Slot, *sources: str, cell_timeout: float = 5.0
) -> tuple[dict[int, CellRun], list[str]]:
    """Run cells in the slot's kernel (cwd: a submission dir); return runs and stdout."""
    sub = slot.dir / "submission"
    sub.mkdir(exist_ok=True)
    slot.chown_for_sandbox(sub)
    runner = NotebookRunner(cell_timeout=cell_timeout, interrupt_grace=1.0)
    runner.launcher.kernel_manager_factory = slot.kernel_manager_factory
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    runs = await runner.run(nb, cwd=str(sub), env={"NBGRADER_EXECUTION": "autograde"})
    stdout = [
        "".join(o.get("text", "") for o in c.outputs if o.get("name") == "stdout") for c in nb.cells
    ]
    return runs, stdout


def _running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie.

    A sandbox's inner bwrap is re-parented to the host's init when the outer one is
    killed; it stays a zombie (no memory, no cgroup) until init reaps it.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _assert_ok(runs: dict[int, CellRun]) -> None:
    failed = {i: r.reason for i, r in runs.items() if not r.succeeded}
    assert not failed, failed


async def test_warm_slot_runs_at_once_in_its_own_directory(pool: KernelPool) -> None:
    await _wait_warm(pool, 2)
    start = time.monotonic()
    slot = await pool.acquire()
    try:
        assert slot.warm
        runs, out = await _run(slot, "import os; print(os.getcwd(), os.getpid())")
        warm = time.monotonic() - start
        _assert_ok(runs)
        cwd, pid = out[0].split()
        assert cwd == str(slot.dir / "submission")
        assert int(pid) < 10  # its own pid namespace
        # the harness's env was applied when the job took the kernel
        runs, out = await _run(slot, "import os; print(os.environ['NBGRADER_EXECUTION'])")
        _assert_ok(runs)  # a second kernel of the same slot: cold, same sandbox
        assert out[0].strip() == "autograde"
        other = await pool.acquire()
        try:
            assert other.dir != slot.dir
            runs, out = await _run(other, "import os; print(os.getcwd())")
            _assert_ok(runs)
            assert out[0].strip() == str(other.dir / "submission")
        finally:
            await other.close()
    finally:
        await slot.close()
    # no kernel start: preparing the warm kernel and one trivial cell
    assert warm < 0.5, f"warm acquire to first cell took {warm:.2f} s"


async def test_identity_and_network(pool: KernelPool) -> None:
    async def reply(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.close()

    server = await asyncio.start_server(reply, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    slot = await pool.acquire()
    try:
        runs, _ = await _run(
            slot,
            "import os; assert os.getuid() == os.geteuid() == 1500 and os.getgroups() == []",
            "caps = dict(l.split(':') for l in open('/proc/self/status'))\n"
            "assert int(caps['CapEff'], 16) == int(caps['CapBnd'], 16) == 0\n"
            "assert caps['NoNewPrivs'].strip() == '1'",
            "import socket; assert socket.gethostname() == 'sandbox'",
            "assert [n for _, n in socket.if_nameindex()] == ['lo']",
            f"socket.create_connection(('127.0.0.1', {port}), timeout=2)",
            "socket.getaddrinfo('pypi.org', 443)",
        )
    finally:
        await slot.close()
        server.close()
    _assert_ok({i: runs[i] for i in range(4)})
    assert runs[4].ename == "ConnectionRefusedError", runs[4]
    assert runs[5].ename == "gaierror", runs[5]


async def test_files_outside_the_job_do_not_exist(pool: KernelPool, tmp_path: Path) -> None:
    # stand-ins for the service's data dir / DB and another student's job directory
    secret = Path(pool.work_root).parent / "grader.sqlite"
    secret.write_text("TOP SECRET")
    neighbour = await pool.acquire()
    (neighbour.dir / "answer.txt").write_text("other student's work")
    slot = await pool.acquire()
    try:
        runs, _ = await _run(
            slot,
            f"import os; assert not os.path.exists({str(secret)!r})",
            f"assert not os.path.exists({str(neighbour.dir)!r})",
            f"assert os.listdir({pool.work_root!r}) == [{slot.dir.name!r}]",
            "assert not os.path.exists('/home')",
            "open('/etc/shadow').read()",
            "open('/usr/evil', 'w')",
            "open('/tmp/scratch', 'w').write('ok'); open('mine.txt', 'w').write('ok')",
        )
    finally:
        await slot.close()
        await neighbour.close()
    _assert_ok({i: runs[i] for i in range(4)})
    assert runs[4].ename == "PermissionError", runs[4]
    assert runs[5].ename in ("OSError", "PermissionError"), runs[5]  # EROFS or EACCES
    assert runs[6].succeeded, runs[6]


async def test_fork_bomb_is_contained_and_close_kills_everything(pool: KernelPool) -> None:
    slot = await pool.acquire()
    try:
        runs, out = await _run(
            slot,
            "import os, time\n"
            "n = 0\n"
            "try:\n"
            "    while True:\n"
            "        if os.fork() == 0:\n"
            "            time.sleep(600)\n"
            "            os._exit(0)\n"
            "        n += 1\n"
            "finally:\n"
            "    print(n)",
            "print('still alive')",
        )
        assert runs[0].status == "error" and runs[0].ename == "BlockingIOError", runs[0]
        assert int(out[0]) < PIDS
        # the children still hold every pid, so the kernel may not get a thread for the
        # next cell: it then fails with that reason, and the harness goes on
        assert runs[1].succeeded or "can't start new thread" in (runs[1].reason or ""), runs[1]
        assert subprocess.run(["true"], check=False).returncode == 0  # the host can fork
        reason = slot.describe_death()
        assert reason is not None and f"process limit of {PIDS}" in reason
        # the harness's kernel shutdown takes them all (the pid namespace dies with it)
        for _ in range(100):
            if not slot.cell.processes():
                break
            await asyncio.sleep(0.02)
        assert slot.cell.processes() == []
        # a kernel still running with children of its own, as when a job is cancelled
        km = slot.kernel_manager_factory("python3")
        await km.start_kernel(cwd=str(slot.dir), env={})
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=30)
        code = "import subprocess\nfor _ in range(5): subprocess.Popen(['sleep', '600'])"
        reply = await kc.execute(code, reply=True, timeout=10)
        kc.stop_channels()
        assert reply["content"]["status"] == "ok"
        leftovers = slot.cell.processes()
        assert len(leftovers) >= 7  # bwrap, its init, the kernel and 5 children
        cgroups = slot.cell.cgroup_paths
    finally:
        await slot.close()
    survivors = [pid for pid in leftovers if _running(pid)]
    assert not survivors, f"processes survived slot.close(): {survivors}"
    assert cgroups and not any(p.exists() for p in cgroups)
    assert not slot.dir.exists()
    await slot.close()  # twice is fine


async def test_memory_bomb_is_killed_with_a_reason(pool: KernelPool) -> None:
    slot = await pool.acquire()
    try:
        runs, _ = await _run(slot, "hog = b'x' * (512 << 20)", "print('after')")
        assert runs[0].status == "kernel_died", runs[0]
        assert runs[1].status == "not_run"
        assert slot.describe_death() == "the kernel was killed: memory limit of 256 MiB exceeded"
    finally:
        await slot.close()


async def test_disk_filling_stops_at_the_limits(pool: KernelPool) -> None:
    slot = await pool.acquire()
    try:
        runs, _ = await _run(
            slot,
            f"open('big', 'wb').write(b'x' * {FSIZE * 2})",
            "import os; assert os.path.getsize('big') <= " + str(FSIZE),
            "for i in range(4):\n    open(f'/tmp/f{i}', 'wb').write(b'x' * " + f"{FSIZE - 1})",
        )
    finally:
        await slot.close()
    assert runs[0].status == "error" and "File too large" in (runs[0].reason or ""), runs[0]
    assert runs[1].succeeded, runs[1]
    assert runs[2].status == "error" and "No space left" in (runs[2].reason or ""), runs[2]


async def test_killing_parents_does_not_hurt_the_harness(pool: KernelPool) -> None:
    await _wait_warm(pool)
    bystander = await pool.acquire()  # another job's kernel, same sandbox uid
    assert await bystander.is_warm_and_alive()
    slot = await pool.acquire()
    try:
        runs, out = await _run(
            slot,
            "import os, signal; os.kill(os.getppid(), signal.SIGKILL)",
            "os.kill(1, signal.SIGKILL)",
            # -1: every process it may signal; none (ESRCH): other jobs are invisible
            "try:\n    os.kill(-1, signal.SIGKILL)\nexcept ProcessLookupError:\n"
            "    print('survived')",
        )
        assert await bystander.is_warm_and_alive()
    finally:
        await slot.close()
        await bystander.close()
    assert runs[0].ename == "PermissionError", runs[0]
    assert runs[1].ename == "PermissionError", runs[1]
    assert runs[2].succeeded and out[2].strip() == "survived", runs[2]


async def test_read_only_paths_under_tmp_survive_the_private_tmp(tmp_path: Path) -> None:
    """A Python installation under /tmp (a CI checkout's .venv) is bound after the
    private /tmp is mounted; bound before, the tmpfs would hide it from the kernel."""
    venv = tempfile.mkdtemp(prefix="venv-", dir="/tmp")
    try:
        sandbox = Sandbox(mode="bwrap", readonly_paths=["/usr", venv])
        argv = sandbox._bwrap_argv(tmp_path)
        tmpfs = argv.index("--tmpfs")
        assert argv[tmpfs + 1] == "/tmp"
        bind = [i for i, word in enumerate(argv) if word == "--ro-bind" and argv[i + 1] == venv]
        assert bind and bind[0] > tmpfs, argv
    finally:
        os.rmdir(venv)
