"""Kernel launching, replaceable by the caller (for example to sandbox the kernel).

The harness (this process) is trusted; the kernel (student code) is not. All the harness
needs from a kernel is the small surface of ``jupyter_client.AsyncKernelManager``:
``start_kernel(cwd=, env=)``, ``client()``, ``is_alive()``, ``interrupt_kernel()`` and
``shutdown_kernel(now=True)``. A caller swaps the kernel in one of two ways:

* ``c.KernelLauncher.argv_prefix = ["bwrap", "--unshare-all", ..., "--"]`` wraps the
  kernelspec's command line, or
* ``c.KernelLauncher.kernel_manager_factory = my_factory`` (or a ``KernelLauncher``
  subclass overriding :meth:`KernelLauncher.make_kernel_manager`) returns any object
  with that surface, such as a kernel manager whose provisioner starts a pod.

The kernel gets a scrubbed environment (``env_keep`` + ``extra_env``) so secrets of the
grading service never reach student code.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol

from jupyter_client.manager import AsyncKernelManager
from traitlets import Callable as CallableTrait
from traitlets import Dict, Float, List, Unicode
from traitlets.config import LoggingConfigurable


class KernelManagerLike(Protocol):
    """What the harness uses of a kernel manager (jupyter_client's async API)."""

    async def start_kernel(self, **kw: Any) -> None:
        """Start the kernel process (``cwd`` and ``env`` are passed as keywords)."""

    def client(self, **kwargs: Any) -> Any:
        """Return an AsyncKernelClient connected to the kernel."""

    async def is_alive(self) -> bool:
        """True while the kernel process runs."""

    async def interrupt_kernel(self) -> None:
        """Send the kernel an interrupt (SIGINT for local kernels)."""

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        """Stop the kernel; ``now=True`` kills it without a graceful wait."""


class _PrefixedKernelManager(AsyncKernelManager):
    """A kernel manager whose command line is wrapped by a launcher (bwrap, prlimit...)."""

    argv_prefix = List(Unicode(), help="Words prepended to the kernel's command line.")

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        """The kernelspec command, prefixed."""
        cmd: list[str] = super().format_kernel_cmd(extra_arguments)
        return [*self.argv_prefix, *cmd]


class KernelLauncher(LoggingConfigurable):
    """Creates the kernel that runs student code; configure or subclass to sandbox it."""

    kernel_name = Unicode(
        "python3",
        help="""Kernelspec used when the notebook names none (or when
        ``force_kernel_name`` is set). Example: ``c.KernelLauncher.kernel_name = "python3"``.""",
    ).tag(config=True)

    force_kernel_name = CallableTrait(
        None,
        allow_none=True,
        help="""Optional ``callable(notebook_kernel_name) -> str`` choosing the kernelspec.
        By default the notebook's own kernelspec name is used; students could edit it, so
        the autograder passes the name recorded in the gradebook instead.""",
    ).tag(config=True)

    argv_prefix = List(
        Unicode(),
        help="""Words prepended to the kernel command line, e.g. a sandbox:
        ``c.KernelLauncher.argv_prefix = ["prlimit", "--as=2000000000", "--"]``.
        Ignored when ``kernel_manager_factory`` is set.""",
    ).tag(config=True)

    kernel_manager_factory = CallableTrait(
        None,
        allow_none=True,
        help="""``callable(kernel_name=str, launcher=KernelLauncher)`` returning an unstarted
        kernel manager with jupyter_client's async API. Lets the service run the kernel
        in its own sandbox or pod while this harness drives it.""",
    ).tag(config=True)

    transport = Unicode(
        "tcp",
        help="ZMQ transport between harness and kernel: 'tcp' or 'ipc' (Unix sockets).",
    ).tag(config=True)

    startup_timeout = Float(
        60.0, help="Seconds to wait for a new kernel to answer kernel_info."
    ).tag(config=True)

    env_keep = List(
        Unicode(),
        [
            "PATH",
            "HOME",
            "LANG",
            "LC_ALL",
            "LC_CTYPE",
            "TMPDIR",
            "TZ",
            "PYTHONPATH",
            "VIRTUAL_ENV",
            "SYSTEMROOT",
        ],
        help="""Environment variables of the harness passed on to the kernel. Everything
        else is dropped so service secrets (tokens, DB URLs) never reach student code.""",
    ).tag(config=True)

    extra_env = Dict(
        Unicode(),
        help="Extra environment variables for the kernel, e.g. ``{'OMP_NUM_THREADS': '1'}``.",
    ).tag(config=True)

    def kernel_env(self, overrides: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of a new kernel: kept variables, extra_env, then overrides."""
        env = {k: v for k, v in os.environ.items() if k in set(self.env_keep)}
        env.update(self.extra_env)
        env.update(overrides or {})
        return env

    def resolve_kernel_name(self, notebook_kernel_name: str | None) -> str:
        """The kernelspec to start for a notebook that asks for ``notebook_kernel_name``."""
        chooser: Callable[[str | None], str] | None = self.force_kernel_name
        if chooser is not None:
            return chooser(notebook_kernel_name)
        return notebook_kernel_name or self.kernel_name

    def make_kernel_manager(self, kernel_name: str) -> KernelManagerLike:
        """Return an unstarted kernel manager for ``kernel_name``."""
        if self.kernel_manager_factory is not None:
            km: KernelManagerLike = self.kernel_manager_factory(
                kernel_name=kernel_name, launcher=self
            )
            return km
        return _PrefixedKernelManager(
            kernel_name=kernel_name,
            transport=self.transport,
            argv_prefix=self.argv_prefix,
        )
