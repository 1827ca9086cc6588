#!/usr/bin/env python3
"""Set up a development environment and run grader-service or its tests.

    python3 dev.py serve     # install everything, start the service on the example config
    python3 dev.py test      # install everything, run the whole test suite
    python3 dev.py lint      # ruff and mypy
    python3 dev.py lock      # re-pin requirements/constraints.txt from the current venv

Needs only Python >= 3.11, git and Node.js (npm) on the machine. Everything else goes
into ./.venv (Python packages, pinned by requirements/constraints.txt) and
tests/hub/node_modules (configurable-http-proxy, pinned by its package-lock.json).
The test suite also runs against PostgreSQL: set GRADER_TEST_POSTGRES_URL to a server
you have, or let this script start a private one when PostgreSQL's server binaries are
installed (Debian: apt-get install postgresql).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
HUB_NODE = ROOT / "tests" / "hub"
LABEXT = ROOT / "grader_labextension"


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def run(*args: str | Path, **kwargs: object) -> None:
    subprocess.run([str(a) for a in args], check=True, **kwargs)  # type: ignore[call-overload]


def ensure_python_env() -> None:
    """Create .venv and install the project with pinned dependencies (once per change)."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may be started by an old Python
        sys.exit("grader-service needs Python 3.11 or newer")
    if not PYTHON.exists():
        say(f"creating {VENV}")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    inputs = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", CONSTRAINTS):
        inputs.update(path.read_bytes())
    stamp = VENV / ".installed"
    if stamp.exists() and stamp.read_text() == inputs.hexdigest():
        ensure_labextension()
        return
    say("installing grader-service and its pinned dependencies into .venv")
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    pip_install_editable(f"{ROOT}[test,dev]")
    stamp.write_text(inputs.hexdigest())
    ensure_labextension()


def pip_install_editable(target: str, env: dict[str, str] | None = None) -> None:
    """``pip install -e target`` into .venv with the pinned versions."""
    run(PYTHON, "-m", "pip", "install", "--quiet", "-c", CONSTRAINTS, "-e", target, env=env)


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def ensure_labextension() -> None:
    """Install grader_labextension into .venv, building its front end when it changed.

    The package is installed editable without its build hook; the front end is built
    with jlpm (yarn, shipped by jupyter-builder) from the committed yarn.lock, and its
    output directory is linked into .venv, so a rebuild is live at once.
    """
    if not (LABEXT / "pyproject.toml").exists():
        return
    py_stamp = VENV / ".labextension-installed"
    py_digest = _digest([LABEXT / "pyproject.toml", CONSTRAINTS])
    if not py_stamp.exists() or py_stamp.read_text() != py_digest:
        say("installing grader_labextension into .venv")
        env = {**os.environ, "SKIP_JUPYTER_BUILDER": "1"}  # the front end is built below
        pip_install_editable(f"{LABEXT}[test]", env=env)
        py_stamp.write_text(py_digest)
    frontend = [
        LABEXT / name for name in ("package.json", "yarn.lock", ".yarnrc.yml", "tsconfig.json")
    ]
    frontend += [p for d in ("src", "style") for p in (LABEXT / d).rglob("*") if p.is_file()]
    built = LABEXT / "grader_labextension" / "labextension"
    front_stamp = VENV / ".labextension-frontend"
    front_digest = _digest(frontend)
    if not (built / "package.json").exists() or (
        not front_stamp.exists() or front_stamp.read_text() != front_digest
    ):
        if shutil.which("node") is None:
            say("Node.js not found: the JupyterLab front end is not built (browser tests skip)")
            return
        jlpm = VENV / "bin" / "jlpm"
        # its scripts call jlpm and jupyter-builder again: both live in .venv/bin
        env = {**os.environ, "PATH": f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
        say("building the JupyterLab extension's front end (jlpm install, jlpm build:prod)")
        run(jlpm, "install", "--immutable", cwd=LABEXT, env=env)
        run(jlpm, "build:prod", cwd=LABEXT, env=env)
        front_stamp.write_text(front_digest)
    # A plain link rather than `jupyter-builder develop`: develop writes install.json
    # through the link into the build output, and a wheel built from that tree would
    # then carry install.json twice (hatch refuses to build it).
    link = VENV / "share" / "jupyter" / "labextensions" / "grader-labextension"
    if not link.is_symlink():
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.exists():
            shutil.rmtree(link)
        link.symlink_to(built, target_is_directory=True)


def ensure_node_tools() -> None:
    """configurable-http-proxy for the tests that start a real JupyterHub."""
    if not (HUB_NODE / "package.json").exists():
        return
    marker = HUB_NODE / "node_modules" / ".package-lock.json"
    lock = HUB_NODE / "package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        sys.exit(
            "npm not found: install Node.js (it provides configurable-http-proxy for JupyterHub)"
        )
    say("installing configurable-http-proxy (npm ci)")
    run(npm, "ci", "--no-fund", "--no-audit", "--prefix", HUB_NODE)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_postgres() -> tuple[str, Path] | None:
    """Start a private PostgreSQL for the tests if its server binaries are installed."""
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        say(
            "PostgreSQL server not installed: PostgreSQL tests will be skipped "
            "(apt-get install postgresql, or set GRADER_TEST_POSTGRES_URL)"
        )
        return None
    data = ROOT / ".cache" / "test-postgres"
    script = ROOT / "scripts" / "test-postgres.sh"
    subprocess.run([script, "stop", data], check=False, capture_output=True)
    shutil.rmtree(data, ignore_errors=True)
    out = subprocess.run(
        [script, "start", data, str(free_port())], check=True, capture_output=True, text=True
    )
    url = out.stdout.strip().splitlines()[-1]
    say(f"started a private PostgreSQL for the tests: {url}")
    return url, data


def cmd_serve(args: list[str]) -> int:
    ensure_python_env()
    config = ROOT / "grader_service_config.py"
    say(f"starting grader-service with {config.name}; stop it with Ctrl-C")
    return subprocess.call([VENV / "bin" / "grader-service", "-f", config, *args], cwd=ROOT)


def cmd_test(args: list[str]) -> int:
    ensure_python_env()
    ensure_node_tools()
    env = dict(os.environ)
    postgres = None
    if not env.get("GRADER_TEST_POSTGRES_URL"):
        postgres = start_postgres()
        if postgres:
            env["GRADER_TEST_POSTGRES_URL"] = postgres[0]
    try:
        return subprocess.call([PYTHON, "-m", "pytest", *args], cwd=ROOT, env=env)
    finally:
        if postgres:
            subprocess.run(
                [ROOT / "scripts" / "test-postgres.sh", "stop", postgres[1]], check=False
            )


def cmd_lock(args: list[str]) -> int:
    ensure_python_env()
    frozen = subprocess.run(
        [PYTHON, "-m", "pip", "freeze", "--exclude-editable"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    lines = [line for line in frozen.splitlines() if not line.lower().startswith("grader")]
    header = [
        "# Pinned versions of every Python package grader-service and its test suite use.",
        "# Regenerate after changing dependencies: python3 dev.py lock",
    ]
    CONSTRAINTS.write_text("\n".join(header + lines) + "\n")
    say(f"wrote {CONSTRAINTS.relative_to(ROOT)} ({len(lines)} packages)")
    return 0


def cmd_lint(args: list[str]) -> int:
    ensure_python_env()
    say("ruff")
    code = subprocess.call([VENV / "bin" / "ruff", "check", ROOT, *args], cwd=ROOT)
    say("mypy")
    return code or subprocess.call([VENV / "bin" / "mypy"], cwd=ROOT)


def cmd_demo(args: list[str]) -> int:
    """JupyterHub + grader-service + the JupyterLab extension in .demo/, in the foreground
    (demo/launch.py; options: --port N, --reset). Ctrl-C stops everything."""
    ensure_python_env()
    ensure_node_tools()
    os.chdir(ROOT)
    # replace this process: Ctrl-C then reaches the launcher alone, which stops the hub
    # cleanly (a parent waiting in subprocess.call would kill it after 0.25 s)
    argv = [str(PYTHON), "-m", "demo.launch", "--dir", str(ROOT / ".demo"), *args]
    os.execv(PYTHON, argv)  # noqa: S606 - our own venv's python, an argument list


COMMANDS = {
    "serve": cmd_serve,
    "test": cmd_test,
    "lint": cmd_lint,
    "lock": cmd_lock,
    "demo": cmd_demo,
}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        return 2
    return COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
