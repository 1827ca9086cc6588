"""A small pool of pre-started sandboxed kernels, so a grading job need not wait for one.

Each :class:`Slot` is one job's private directory and :class:`SandboxCell`, usually with a
kernel already running in it (warm). The harness plugs the slot in with::

    slot = await pool.acquire()
    runner.launcher.kernel_manager_factory = slot.kernel_manager_factory
    ...copy the submission into slot.dir / "submission", slot.chown_for_sandbox(...)...
    await runner.run(nb, cwd=str(slot.dir / "submission"))
    reason = slot.describe_death()          # e.g. "memory limit of 1 GiB exceeded"
    await slot.close()

A kernel serves exactly one job: warm kernels are idle (no student code) until acquired,
and a slot's kernels and cgroups are destroyed with the slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import shutil
import uuid
from pathlib import Path
from typing import Any, cast

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from traitlets import Dict, Float, Instance, Integer, Unicode, default
from traitlets.config import LoggingConfigurable

from ..convert.execute import wait_shell_reply
from ..convert.kernel import KernelLauncher, KernelManagerLike
from .sandbox import Sandbox, SandboxCell

#: Longest path of a Unix socket (sun_path is 108 bytes with the NUL).
_MAX_SOCKET_PATH = 107
#: What a slot adds to work_root in a socket path: "/s-xxxxxxxx/k-xxxxxxxx-ipc-N".
_SLOT_PATH_OVERHEAD = 32


class SandboxKernelClient(AsyncKernelClient):
    """A kernel client whose ``wait_for_ready`` takes milliseconds, not 0.2-1.2 s.

    jupyter_client's version waits up to 1 s per try for the kernel_info reply, then
    0.2 s for an iopub message (proof that the subscription is up; if it missed the
    kernel's status message it starts over), then another 0.2 s flushing iopub. For a
    warm kernel that is all the latency there is. Here the tries are short and nothing
    is flushed: the harness matches every message to its own request anyway.
    """

    async def wait_for_ready(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 (API)
        """Return once the kernel answers kernel_info and iopub delivers messages."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (timeout if timeout is not None else float("inf"))
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=0.25)
            except queue.Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=0.05)
                except queue.Empty:
                    pass  # subscribed too late for this status message: ask again
                else:
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if loop.time() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs in a :class:`SandboxCell`.

    It talks to the kernel over Unix sockets in the job directory (the sandbox has no
    network, not even the host's loopback) and interrupts it with a control message
    (bwrap does not forward signals to the kernel).
    """

    cell = Instance(SandboxCell, help="The job's sandbox; the kernel is started inside it.")

    def __init__(self, cell: SandboxCell, **kwargs: Any) -> None:
        stem = cell.job_dir / f"k-{uuid.uuid4().hex[:8]}"
        super().__init__(
            cell=cell,
            transport="ipc",
            connection_file=f"{stem}.json",
            ip=f"{stem}-ipc",
            client_factory=SandboxKernelClient,
            **kwargs,
        )

    @property
    def kernel_spec(self) -> KernelSpec | None:
        """The kernelspec, with ``interrupt_mode = 'message'``."""
        spec: KernelSpec | None = super().kernel_spec
        if spec is not None:
            spec.interrupt_mode = "message"
        return spec

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        """The kernelspec's command line, entering the sandbox first."""
        cmd: list[str] = super().format_kernel_cmd(extra_arguments)
        return [*self.cell.argv_prefix(), *cmd]

    def write_connection_file(self, **kwargs: Any) -> None:
        """Write the connection file, readable by the sandbox uid (it is written 0600)."""
        super().write_connection_file(**kwargs)
        self.cell.chown_for_sandbox(Path(self.connection_file))

    async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
        """Start the kernel in the cell; ``cwd`` must be inside the job directory."""
        cwd = Path(kw.get("cwd") or self.cell.job_dir)
        _check_inside(cwd, self.cell.job_dir)
        kw["cwd"] = str(cwd)
        kw["env"] = self.cell.env_for_kernel(dict(kw.get("env") or {}))
        await super().start_kernel(**kw)

    def describe_death(self) -> str | None:
        """Which sandbox limit killed the kernel, if one did (the harness reports it)."""
        return self.cell.describe_death()


def _check_inside(path: Path, job_dir: Path) -> None:
    resolved = path.resolve()
    if resolved != job_dir and job_dir not in resolved.parents:
        # only the job dir exists inside the sandbox
        raise ValueError(f"the kernel's cwd {path} is not inside its job directory {job_dir}")


class _AdoptedKernel:
    """A warm kernel handed to the harness: ``start_kernel`` only moves it to the job.

    The kernel was started before the job existed, in the slot directory with the pool's
    environment. ``start_kernel(cwd=, env=)`` runs trusted code in it (before the harness
    connects, so before any student code) that changes directory and applies the
    differences of ``env``. Variables read only at interpreter start-up (PYTHONHASHSEED,
    PYTHONSAFEPATH, ...) therefore keep the pool's values.
    """

    def __init__(self, km: SandboxedKernelManager, launch_env: dict[str, str], timeout: float):
        self._km = km
        self._launch_env = launch_env
        self._timeout = timeout

    async def start_kernel(self, **kw: Any) -> None:
        """Point the running kernel at ``cwd`` and ``env`` instead of starting a process."""
        cell = self._km.cell
        cwd = Path(kw.get("cwd") or cell.job_dir)
        _check_inside(cwd, cell.job_dir)
        env = cell.env_for_kernel(dict(kw.get("env") or {}))
        removed = sorted(set(self._launch_env) - set(env))
        changed = {k: v for k, v in env.items() if self._launch_env.get(k) != v}
        code = (
            "def __gs_adopt():\n"
            "    import os\n"
            f"    os.chdir({str(cwd)!r})\n"
            f"    for k in {removed!r}:\n"
            "        os.environ.pop(k, None)\n"
            f"    os.environ.update({json.dumps(changed)})\n"
            "__gs_adopt()\n"
            "del __gs_adopt\n"
        )
        kc = self._km.client()
        # no wait_for_ready: the pool saw the kernel answer, and that call alone spends
        # 0.2 s flushing iopub; the request is queued until the socket connects
        kc.start_channels(iopub=False, stdin=False, hb=False, control=False)
        try:
            msg_id = kc.execute(code, silent=True, store_history=False)
            async with asyncio.timeout(self._timeout):
                reply = await wait_shell_reply(kc, msg_id)
        finally:
            kc.stop_channels()
        if reply.get("status") != "ok":
            raise RuntimeError(f"could not prepare the warm kernel: {reply.get('evalue')}")

    def client(self, **kwargs: Any) -> Any:
        """A new client of the warm kernel."""
        return self._km.client(**kwargs)

    async def is_alive(self) -> bool:
        """True while the kernel process runs."""
        return bool(await self._km.is_alive())

    async def interrupt_kernel(self) -> None:
        """Interrupt the running cell."""
        await self._km.interrupt_kernel()

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        """Stop the kernel (a kernel is never reused, so ``restart`` is ignored)."""
        await self._km.shutdown_kernel(now=now)

    def describe_death(self) -> str | None:
        """Which sandbox limit killed the kernel, if one did."""
        return self._km.describe_death()


class Slot:
    """One job's directory and sandbox, possibly with a pre-started (warm) kernel."""

    def __init__(
        self,
        dir: Path,
        cell: SandboxCell,
        kernel_name: str,
        startup_timeout: float,
    ) -> None:
        #: Empty and writable inside the sandbox at the same path; put the job's files in
        #: a sub-directory and hand it over with :meth:`chown_for_sandbox`.
        self.dir = dir
        self.cell = cell
        self.kernel_name = kernel_name
        self.startup_timeout = startup_timeout
        self._warm: SandboxedKernelManager | None = None
        self._warm_env: dict[str, str] = {}
        self._managers: list[SandboxedKernelManager] = []
        self._closed = False

    @property
    def warm(self) -> bool:
        """Whether the next kernel of the pool's kernel name is already running."""
        return self._warm is not None

    async def start_warm(self, env: dict[str, str]) -> None:
        """Start the kernel the job will use, and wait until it answers (pool use)."""
        km = self._new_manager(self.kernel_name)
        await km.start_kernel(cwd=str(self.dir), env=env)
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=self.startup_timeout)
        finally:
            kc.stop_channels()
        self._warm = km
        self._warm_env = km.cell.env_for_kernel(env)

    def kernel_manager_factory(
        self, kernel_name: str, launcher: KernelLauncher | None = None
    ) -> KernelManagerLike:
        """A kernel manager for the harness (``KernelLauncher.kernel_manager_factory``).

        The first request for the pool's kernel gets the warm kernel; any other (a
        second kernel, another kernel name, a restart) a cold one in the same sandbox.
        """
        if self._closed:
            raise RuntimeError("this slot is closed")
        if self._warm is not None and kernel_name == self.kernel_name:
            km, self._warm = self._warm, None
            return _AdoptedKernel(km, self._warm_env, self.startup_timeout)
        return cast(KernelManagerLike, self._new_manager(kernel_name))

    def _new_manager(self, kernel_name: str) -> SandboxedKernelManager:
        km = SandboxedKernelManager(self.cell, kernel_name=kernel_name)
        self._managers.append(km)
        return km

    def chown_for_sandbox(self, path: Path) -> None:
        """Give ``path`` (inside :attr:`dir`) to the sandbox uid so the kernel can write it."""
        self.cell.chown_for_sandbox(path)

    async def is_warm_and_alive(self) -> bool:
        """Whether the warm kernel is still running (it may die while idle)."""
        return self._warm is not None and bool(await self._warm.is_alive())

    def describe_death(self) -> str | None:
        """Why a limit stopped the job's processes (e.g. the memory limit), or None."""
        return self.cell.describe_death()

    async def close(self) -> None:
        """Kill the slot's kernels and every process of its sandbox; delete its dir."""
        if self._closed:
            return
        self._closed = True
        for km in self._managers:
            with contextlib.suppress(Exception):
                if km.has_kernel:
                    await km.shutdown_kernel(now=True)
        await self.cell.close()
        await asyncio.to_thread(shutil.rmtree, self.dir, ignore_errors=True)


def _make_work_root(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    # traversable but not listable: a job must not find other jobs' directories
    root.chmod(0o711)


class KernelPool(LoggingConfigurable):
    """Keeps ``size`` sandboxed kernels started, each to serve exactly one job."""

    size = Integer(
        2,
        help="""Warm kernels kept ready. Each costs an idle Python process (~60 MB);
        0 disables the pool (every job starts its own kernel).""",
    ).tag(config=True)

    kernel_name = Unicode(
        "python3", help="Kernelspec of the warm kernels; jobs needing another start cold."
    ).tag(config=True)

    work_root = Unicode(
        help="""Directory of the slot (job) directories, created mode 0711 so sandboxed
        jobs cannot list each other. Keep it short: kernel sockets live in it and Unix
        socket paths are limited to 107 bytes.""",
    ).tag(config=True)

    sandbox = Instance(Sandbox, help="The sandbox that confines every kernel of the pool.")

    kernel_env = Dict(
        Unicode(),
        help="""Environment warm kernels start with: what the harness would pass
        (``KernelLauncher.kernel_env()`` plus NBGRADER_EXECUTION=autograde and
        PYTHONSAFEPATH=1). A job's own environment is applied on top when it takes the
        kernel, but variables read at interpreter start-up keep these values.""",
    ).tag(config=True)

    startup_timeout = Float(
        60.0, help="Seconds a new kernel may take to answer its first request."
    ).tag(config=True)

    @default("sandbox")
    def _sandbox_default(self) -> Sandbox:
        return Sandbox(parent=self)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ready: list[Slot] = []
        self._starting: set[asyncio.Task[None]] = set()
        self._reaping: set[asyncio.Task[None]] = set()
        self._running = False

    async def start(self) -> None:
        """Check the sandbox, create work_root and start filling the pool (no waiting)."""
        if not self.work_root:
            raise ValueError("c.KernelPool.work_root must be set")
        if len(self.work_root) + _SLOT_PATH_OVERHEAD > _MAX_SOCKET_PATH:
            raise ValueError(
                f"c.KernelPool.work_root {self.work_root!r} is too long for kernel sockets "
                f"(at most {_MAX_SOCKET_PATH - _SLOT_PATH_OVERHEAD} characters)"
            )
        await asyncio.to_thread(self.sandbox.check)
        await asyncio.to_thread(_make_work_root, Path(self.work_root))
        self._running = True
        self._fill()

    async def acquire(self) -> Slot:
        """A slot with a warm kernel if one is ready, else a cold one (never waits)."""
        if not self._running:
            raise RuntimeError("the kernel pool is not started")
        slot: Slot | None = None
        while self._ready:
            candidate = self._ready.pop(0)
            if await candidate.is_warm_and_alive():
                slot = candidate
                break
            self.log.warning("A warm kernel died while idle; discarding it")
            self._background(candidate.close(), self._reaping)
        if slot is None:
            slot = await asyncio.to_thread(self._new_slot)
        self._fill()
        return slot

    async def stop(self) -> None:
        """Stop filling; kill the warm kernels and remove their slots."""
        self._running = False
        # not cancelled: a start interrupted half-way could leave a slot behind; each
        # finishes within startup_timeout and closes its slot as the pool is stopped
        await asyncio.gather(*self._starting, *self._reaping, return_exceptions=True)
        ready, self._ready = self._ready, []
        await asyncio.gather(*(slot.close() for slot in ready), return_exceptions=True)

    def _new_slot(self) -> Slot:
        path = Path(self.work_root) / f"s-{uuid.uuid4().hex[:8]}"
        path.mkdir(mode=0o700)
        cell = self.sandbox.job_cell(path)
        return Slot(path, cell, self.kernel_name, self.startup_timeout)

    def _fill(self) -> None:
        while self._running and len(self._ready) + len(self._starting) < self.size:
            self._background(self._start_warm(), self._starting)

    def _background(self, coro: Any, tasks: set[asyncio.Task[None]]) -> None:
        # keep a reference: the loop holds tasks only weakly
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _start_warm(self) -> None:
        slot = await asyncio.to_thread(self._new_slot)
        try:
            await slot.start_warm(dict(self.kernel_env))
        except Exception as exc:
            await slot.close()
            self.log.error("Could not start a warm kernel: %s", exc)
            # not straight _fill(): a broken kernelspec would spin; the next acquire retries
            return
        if self._running:
            self._ready.append(slot)
        else:
            await slot.close()

    @property
    def ready_count(self) -> int:
        """Warm slots ready right now."""
        return len(self._ready)


__all__ = ["KernelPool", "SandboxedKernelManager", "Slot"]
