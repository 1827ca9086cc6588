"""Execute a notebook's code cells in an untrusted kernel, with limits, and report per cell.

Only this harness decides whether a cell succeeded, from what came back over the wire:

* the shell ``execute_reply`` status must be ``ok`` (student code that silences
  tracebacks, e.g. by replacing ``showtraceback``, still gets an ``error`` reply), and
* no ``error`` output may have been published for the cell, and
* the reply must arrive before the per-cell and total deadlines, from a live kernel.

A kernel that dies (``os._exit``, a segfault, the OOM killer) or hangs is detected by the
harness; the cell is failed with a reason and the later cells are failed as "not run"
(or the kernel is restarted, ``on_kernel_death = "restart"``), never skipped as passed.
Outputs are capped while they arrive, so a flood of output cannot exhaust the harness.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import re
from dataclasses import dataclass, field
from typing import Any

from nbformat import NotebookNode
from nbformat.v4 import output_from_msg
from traitlets import Enum, Float, Instance, Int, default
from traitlets.config import LoggingConfigurable

from .kernel import KernelLauncher, KernelManagerLike

_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# Runs before any student code, so it is trusted: with PYTHONSAFEPATH the kernel started
# without the submission directory on sys.path (a submitted ipykernel_launcher.py could
# otherwise replace the kernel); put it back for the student's own helper modules.
_PREAMBLE = (
    "import os as __gs_os, sys as __gs_sys\n"
    "__gs_os.environ.pop('PYTHONSAFEPATH', None)\n"
    "__gs_sys.path.insert(0, '')\n"
    "del __gs_os, __gs_sys\n"
)


def strip_ansi(text: str) -> str:
    """Remove terminal colour codes (tracebacks are coloured)."""
    return _ANSI_RE.sub("", text)


@dataclass
class CellRun:
    """How one code cell ran: ``ok``, ``error``, ``timeout``, ``kernel_died`` or ``not_run``."""

    index: int
    status: str
    reason: str | None = None
    ename: str | None = None
    evalue: str | None = None
    truncated: bool = False
    #: text/plain of the cell's last execute_result (its value), even if outputs were cut
    result: str | None = None
    #: whether the cell itself wrote to stderr (the grader's own notices do not count)
    wrote_stderr: bool = False

    @property
    def succeeded(self) -> bool:
        """True only if the kernel positively reported success."""
        return self.status == "ok"


@dataclass
class _Collector:
    """Builds a cell's outputs from iopub messages, within a byte budget."""

    max_bytes: int
    max_traceback: int
    outputs: list[NotebookNode] = field(default_factory=list)
    used: int = 0
    truncated: bool = False
    saw_error: bool = False
    ename: str | None = None
    evalue: str | None = None
    clear_pending: bool = False
    result: str | None = None
    wrote_stderr: bool = False

    def add(self, msg: dict[str, Any]) -> None:
        """Record one iopub message of this cell."""
        kind = msg["msg_type"]
        content = msg["content"]
        # Scores depend on these, so they are recorded apart from the outputs, which a
        # flood of output can truncate. The last execute_result is the cell's own value:
        # student code run by the cell can publish results too, but only before it.
        if kind == "execute_result":
            text = content.get("data", {}).get("text/plain", "")
            self.result = ("".join(text) if isinstance(text, list) else str(text))[:1000]
        if kind == "stream" and content.get("name") == "stderr":
            self.wrote_stderr = True
        if kind == "error":
            # counted even when the output itself no longer fits the budget
            self.saw_error = True
            self.ename = str(content.get("ename", ""))
            self.evalue = str(content.get("evalue", ""))
            content["traceback"] = list(content.get("traceback", []))[-self.max_traceback :]
        if kind == "clear_output":
            if content.get("wait"):
                self.clear_pending = True
            else:
                self.outputs.clear()
            return
        if kind not in ("stream", "display_data", "execute_result", "error"):
            return
        if self.clear_pending:
            self.outputs.clear()
            self.clear_pending = False
        size = len(json.dumps(content, default=str))
        if self.used + size > self.max_bytes:
            self._truncate(kind, content)
            return
        self.used += size
        if (
            kind == "stream"
            and self.outputs
            and self.outputs[-1].get("output_type") == "stream"
            and self.outputs[-1].get("name") == content.get("name")
        ):
            self.outputs[-1]["text"] += content.get("text", "")
            return
        self.outputs.append(output_from_msg(msg))

    def _truncate(self, kind: str, content: dict[str, Any]) -> None:
        if kind == "error":
            # keep the error itself, without its (large) traceback
            self.outputs.append(
                NotebookNode(
                    output_type="error",
                    ename=self.ename,
                    evalue=(self.evalue or "")[:1000],
                    traceback=[],
                )
            )
        if not self.truncated:
            self.truncated = True
            self.outputs.append(
                NotebookNode(
                    output_type="stream",
                    name="stderr",
                    text=f"\n[output truncated by the grader: limit {self.max_bytes} bytes]\n",
                )
            )


class KernelDied(Exception):
    """The kernel process ended or stopped answering."""


class NotebookRunner(LoggingConfigurable):
    """Runs the code cells of one notebook in a fresh kernel and reports each cell."""

    cell_timeout = Float(
        30.0, help="Seconds one cell may run before it is interrupted and failed."
    ).tag(config=True)

    total_timeout = Float(
        600.0, help="Seconds the whole notebook may run; the remaining cells then fail."
    ).tag(config=True)

    interrupt_grace = Float(
        2.0, help="Seconds to wait after interrupting a timed-out cell before killing the kernel."
    ).tag(config=True)

    max_output_bytes = Int(
        100_000, help="Bytes of output kept per cell; the rest is dropped with a notice."
    ).tag(config=True)

    max_traceback_lines = Int(100, help="Traceback entries kept per error output.").tag(config=True)

    on_kernel_death = Enum(
        ["fail", "restart"],
        "fail",
        help="""What to do after the kernel dies or is killed: 'fail' the remaining cells
        (with a reason), or 'restart' a fresh kernel and go on with the next cell.""",
    ).tag(config=True)

    launcher = Instance(KernelLauncher, help="Starts the kernel; replace it to sandbox the kernel.")

    @default("launcher")
    def _launcher_default(self) -> KernelLauncher:
        return KernelLauncher(parent=self)

    async def run(
        self,
        nb: NotebookNode,
        *,
        cwd: str,
        env: dict[str, str] | None = None,
        kernel_name: str | None = None,
    ) -> dict[int, CellRun]:
        """Execute every code cell of ``nb`` in place; return a CellRun per code cell index."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.total_timeout
        name = self.launcher.resolve_kernel_name(kernel_name)
        # PYTHONSAFEPATH: see _PREAMBLE
        kernel_env = self.launcher.kernel_env({**(env or {}), "PYTHONSAFEPATH": "1"})
        runs: dict[int, CellRun] = {}
        not_run_reason: str | None = None
        km, kc = await self._start(name, cwd, kernel_env)
        try:
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                cell.outputs = []
                cell.execution_count = None
                if not_run_reason is None and loop.time() >= deadline:
                    not_run_reason = (
                        f"not run: the notebook exceeded its total time limit of "
                        f"{self.total_timeout:g} s"
                    )
                if not_run_reason is not None:
                    runs[index] = CellRun(index, "not_run", reason=not_run_reason)
                    continue
                if km is None or kc is None:  # a restart failed
                    raise RuntimeError("no kernel")
                run = await self._run_cell(km, kc, cell, index, deadline)
                runs[index] = run
                if run.status in ("kernel_died", "timeout") and not await _alive(km):
                    await self._stop(km, kc)
                    km = kc = None
                    if self.on_kernel_death == "restart" and loop.time() < deadline:
                        self.log.info("Restarting the kernel after cell %d", index)
                        km, kc = await self._start(name, cwd, kernel_env)
                    else:
                        not_run_reason = (
                            f"not run: the kernel stopped in cell {index} ({run.reason})"
                        )
        finally:
            if km is not None:
                await self._stop(km, kc)
        return runs

    async def _start(self, name: str, cwd: str, env: dict[str, str]) -> tuple[Any, Any]:
        km = self.launcher.make_kernel_manager(name)
        await km.start_kernel(cwd=cwd, env=env)
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=self.launcher.startup_timeout)
            msg_id = kc.execute(_PREAMBLE, silent=True, store_history=False)
            await wait_shell_reply(kc, msg_id)
        except BaseException:
            await self._stop(km, kc)
            raise
        return km, kc

    async def _stop(self, km: KernelManagerLike, kc: Any) -> None:
        # now=True: a graceful shutdown can stall for seconds and buys nothing here
        with contextlib.suppress(Exception):
            if kc is not None:
                kc.stop_channels()
        with contextlib.suppress(Exception):
            await km.shutdown_kernel(now=True)

    async def _run_cell(
        self,
        km: KernelManagerLike,
        kc: Any,
        cell: NotebookNode,
        index: int,
        deadline: float,
    ) -> CellRun:
        loop = asyncio.get_running_loop()
        collector = _Collector(self.max_output_bytes, self.max_traceback_lines)
        if not cell.source.strip():
            return CellRun(index, "ok")
        msg_id = kc.execute(cell.source, store_history=True, allow_stdin=False, stop_on_error=False)
        exchange = asyncio.ensure_future(_exchange(kc, msg_id, collector, cell))
        watchdog = asyncio.ensure_future(_watch(km))
        cell_deadline = min(loop.time() + self.cell_timeout, deadline)
        try:
            done, _ = await asyncio.wait(
                {exchange, watchdog},
                timeout=max(cell_deadline - loop.time(), 0),
                return_when=asyncio.FIRST_COMPLETED,
            )
            if exchange in done:
                return self._finish(index, collector, exchange.result(), cell)
            if watchdog in done:
                return self._fail(
                    index,
                    collector,
                    cell,
                    "kernel_died",
                    _death_reason(km)
                    or "the kernel died while running this cell "
                    "(it exited, crashed or ran out of memory)",
                )
            if loop.time() >= deadline:
                await km.shutdown_kernel(now=True)
                return self._fail(
                    index,
                    collector,
                    cell,
                    "timeout",
                    f"the notebook exceeded its total time limit of {self.total_timeout:g} s",
                )
            reason = f"the cell exceeded its time limit of {self.cell_timeout:g} s"
            with contextlib.suppress(Exception):
                await km.interrupt_kernel()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(exchange), self.interrupt_grace)
            if not exchange.done():
                await km.shutdown_kernel(now=True)
                reason += "; the kernel ignored the interrupt and was stopped"
            return self._fail(index, collector, cell, "timeout", reason)
        finally:
            for task in (exchange, watchdog):
                task.cancel()
            await asyncio.gather(exchange, watchdog, return_exceptions=True)

    def _finish(
        self, index: int, col: _Collector, reply: dict[str, Any], cell: NotebookNode
    ) -> CellRun:
        cell.outputs = col.outputs
        status = reply.get("status")
        if status == "ok" and not col.saw_error:
            return CellRun(
                index,
                "ok",
                truncated=col.truncated,
                result=col.result,
                wrote_stderr=col.wrote_stderr,
            )
        ename = col.ename or reply.get("ename") or "Error"
        evalue = col.evalue if col.ename else reply.get("evalue", "")
        if status == "ok":
            reason = f"{ename}: {evalue}"  # error output with an ok reply: still an error
        elif status == "error":
            reason = f"{ename}: {evalue}"
        else:
            reason = f"the kernel reported status {status!r}"
        return CellRun(
            index,
            "error",
            reason=strip_ansi(reason)[:2000],
            ename=ename,
            evalue=strip_ansi(str(evalue))[:2000],
            truncated=col.truncated,
            wrote_stderr=col.wrote_stderr,
        )

    def _fail(
        self, index: int, col: _Collector, cell: NotebookNode, status: str, reason: str
    ) -> CellRun:
        col.outputs.append(
            NotebookNode(output_type="stream", name="stderr", text=f"[grader] {reason}\n")
        )
        cell.outputs = col.outputs
        return CellRun(
            index,
            status,
            reason=reason,
            ename=col.ename,
            evalue=col.evalue,
            truncated=col.truncated,
        )


def _death_reason(km: KernelManagerLike) -> str | None:
    """Why the kernel died, if its manager knows (a sandbox can tell a memory-limit kill)."""
    describe = getattr(km, "describe_death", None)
    if describe is None:
        return None
    try:
        reason = describe()
    except Exception:
        return None
    return f"the kernel died while running this cell: {reason}" if reason else None


async def _alive(km: KernelManagerLike) -> bool:
    try:
        return bool(await km.is_alive())
    except Exception:
        return False


async def _watch(km: KernelManagerLike, interval: float = 0.1) -> None:
    """Return once the kernel process is gone."""
    # polling: jupyter_client offers no death notification for every kernel manager
    while await _alive(km):  # noqa: ASYNC110
        await asyncio.sleep(interval)


async def wait_shell_reply(kc: Any, msg_id: str) -> dict[str, Any]:
    """The shell reply to ``msg_id`` (replies to earlier, interrupted requests are skipped)."""
    while True:
        try:
            msg = await kc.get_shell_msg(timeout=1.0)
        except queue.Empty:
            continue
        if msg.get("parent_header", {}).get("msg_id") == msg_id:
            content: dict[str, Any] = msg["content"]
            return content


async def _exchange(kc: Any, msg_id: str, col: _Collector, cell: NotebookNode) -> dict[str, Any]:
    """Collect the cell's outputs until the kernel is idle, then return its reply."""
    reply_task = asyncio.ensure_future(wait_shell_reply(kc, msg_id))
    try:
        while True:
            try:
                msg = await kc.get_iopub_msg(timeout=1.0)
            except queue.Empty:
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "status" and msg["content"].get("execution_state") == "idle":
                break
            if kind == "execute_input":
                cell.execution_count = msg["content"].get("execution_count")
                continue
            col.add(msg)
        return await reply_task
    finally:
        reply_task.cancel()
