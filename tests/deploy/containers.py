"""Building and running our images with podman on a machine without Docker or a registry.

The flags are the ones that work on this kind of machine (shared/reference/ENV.md,
"Container images without Docker"): runc (crun refuses the hybrid cgroup layout),
cgroupfs (no systemd) and explicit nofile/nproc ulimits (runc may not raise them).
Storage is overlay where the file system allows it (a container starts in under a
second) and vfs otherwise (it copies the whole image for every container: ~15 s).
Public base images cannot be pulled, so the base is debootstrapped from the machine's
apt mirror and cached as a tarball.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

BASE_REF = "localhost/grader-base:bookworm"
GLOBAL_FLAGS = ["--runtime", "runc", "--cgroup-manager", "cgroupfs"]
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
# What images/*/Dockerfile copy from the repository: the image tag hashes them, so an
# unchanged tree reuses the image built by an earlier run.
BUILD_INPUTS = ("pyproject.toml", "README.md", "requirements", "grader_service", "migrations")


def container_tools_missing() -> str | None:
    """Why images cannot be built here, or None."""
    if os.geteuid() != 0:
        return "image tests need root (rootful podman with runc and cgroupfs)"
    for tool in ("podman", "runc", "debootstrap"):
        if shutil.which(tool) is None:
            return f"{tool} is missing (apt-get install podman buildah runc debootstrap)"
    return None


def apt_mirror() -> str:
    """The Debian mirror apt uses on this machine (deb822 or one-line format)."""
    deb822 = Path("/etc/apt/sources.list.d/debian.sources")
    if deb822.exists():
        for line in deb822.read_text().splitlines():
            if line.startswith("URIs:"):
                return line.split()[1]
    legacy = Path("/etc/apt/sources.list")
    if legacy.exists():
        match = re.search(r"^deb\s+(\S+)\s+bookworm\s", legacy.read_text(), re.MULTILINE)
        if match:
            return match.group(1)
    return "http://deb.debian.org/debian"


class PodmanError(RuntimeError):
    """A podman command failed; the message carries its output."""


class Podman:
    """podman with its own storage (so a developer's own podman setup is not touched)."""

    def __init__(self, storage: Path) -> None:
        self.driver = "overlay"
        self.root = storage / "root"
        # runtime state holds sockets: keep the path short
        self.runroot = Path(tempfile.gettempdir()) / "grader-deploy-podman"
        try:
            self("info", timeout=60)
        except PodmanError:
            # one storage per driver: podman refuses to open a store with another driver
            self.driver = "vfs"
            self.root = storage / "root-vfs"
            self.runroot = self.runroot.with_name("grader-deploy-podman-vfs")

    def __call__(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run ``podman ARGS``; raise with the output when it fails."""
        command = ["podman", *GLOBAL_FLAGS, "--storage-driver", self.driver]
        command += ["--root", str(self.root), "--runroot", str(self.runroot), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise PodmanError(
                f"{' '.join(command)} exited {result.returncode}\n"
                f"--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-6000:]}"
            )
        return result

    def image_exists(self, ref: str) -> bool:
        """Whether ``ref`` is in the storage."""
        try:
            self("image", "exists", ref, timeout=60)
        except PodmanError:
            return False
        return True

    def build_image(self, name: str, base: str, repo: Path) -> str:
        """Build ``images/NAME/Dockerfile`` from ``repo`` on ``base`` (reused if unchanged)."""
        dockerfile = repo / "images" / name / "Dockerfile"
        ignorefile = repo / "images" / ".dockerignore"
        digest = hashlib.sha256(base.encode())
        for path in [dockerfile, ignorefile, *_input_files(repo)]:
            digest.update(str(path.relative_to(repo)).encode() + b"\0" + path.read_bytes())
        ref = f"localhost/grader-{name}:{digest.hexdigest()[:16]}"
        if self.image_exists(ref):
            return ref
        self(
            "build",
            "--network=host",  # apt and PyPI during the build
            *ULIMITS,
            # one committed layer: no cache is reused (the tag is the cache), and vfs
            # would store every layer as a full copy
            "--layers=false",
            "--ignorefile",
            str(ignorefile),
            "--build-arg",
            f"BASE={base}",
            "-f",
            str(dockerfile),
            "-t",
            ref,
            str(repo),
            timeout=1200,
        )
        # earlier builds of this image are stale now: free their space
        listed = self("images", "--format", "{{.Repository}}:{{.Tag}}", ref.split(":")[0])
        for old in set(listed.stdout.split()) - {ref}:
            self("rmi", "--force", old, timeout=120)
        return ref


def _input_files(repo: Path) -> list[Path]:
    files = []
    for name in BUILD_INPUTS:
        path = repo / name
        if path.is_file():
            files.append(path)
        else:
            files += sorted(
                p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts
            )
    return files


def build_base_image(podman: Podman, cache: Path) -> str:
    """``BASE_REF``: debootstrap minbase bookworm, cached as ``cache/bookworm-minbase.tar``."""
    tarball = cache / "bookworm-minbase.tar"
    if not tarball.exists():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            rootfs = Path(tmp) / "rootfs"
            subprocess.run(
                ["debootstrap", "--variant=minbase", "bookworm", str(rootfs), apt_mirror()],
                check=True,
                capture_output=True,
                timeout=900,
            )
            # Trust what this machine trusts: where PyPI is reached through a
            # TLS-inspecting proxy, its CA is installed here, and pip in the build needs
            # it (the images' ca-certificates package picks these files up).
            local_cas = Path("/usr/local/share/ca-certificates")
            if local_cas.is_dir():
                shutil.copytree(local_cas, rootfs / local_cas.relative_to("/"), dirs_exist_ok=True)
            partial = Path(tmp) / "base.tar"
            subprocess.run(
                ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."],
                check=True,
                timeout=600,
            )
            partial.rename(tarball)
    if not podman.image_exists(BASE_REF):
        podman("import", str(tarball), BASE_REF)
    return BASE_REF
