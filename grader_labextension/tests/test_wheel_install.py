"""``pip install ./grader_labextension`` gives a working, prebuilt extension.

The wheel is built the way an operator (or ``images/lab/Dockerfile``) builds it: a
non-editable ``pip wheel`` of the package directory, whose hatch jupyter-builder hook must
reuse the front end that is already built (``skip-if-exists``) rather than build it again.
The wheel is then installed into a throw-away virtual environment that sees the
development venv's packages (JupyterLab, jupyter_server, ...) through a ``.pth`` file but
not its editable install of this extension or the development link of its front end, and
Jupyter's own commands must find the extension there: the labextension enabled and OK
with all its static files, the server extension enabled and importable.

Building reads ``grader_labextension/labextension``: run it while no front-end build
runs (agents: under ``flock /tmp/grader-labext-build.lock``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1]
BUILT = PACKAGE / "grader_labextension" / "labextension"
LABEXT_NAME = "grader-labextension"
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # Jupyter's list commands colour enabled/OK

pytestmark = pytest.mark.skipif(
    not (BUILT / "static" / "style.js").exists(),
    reason="the front end is not built (python3 dev.py test builds it; needs Node.js)",
)


def _snapshot(directory: Path) -> dict[str, int]:
    """Relative path -> mtime (ns) of every file below ``directory``."""
    return {
        str(p.relative_to(directory)): p.stat().st_mtime_ns
        for p in directory.rglob("*")
        if p.is_file()
    }


def _run(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run a command; its stdout and stderr together (Jupyter's list commands log to
    stderr), without colour codes."""
    result = subprocess.run(
        [str(a) for a in args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    output = ANSI_COLOUR.sub("", result.stdout + result.stderr)
    assert result.returncode == 0, f"{args} failed ({result.returncode}):\n{output}"
    return output


def test_wheel_installs_a_working_prebuilt_extension(tmp_path: Path) -> None:
    before = _snapshot(BUILT)

    # 1. the wheel, non-editable; the build backend comes from the venv (it is pinned there)
    dist = tmp_path / "dist"
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--quiet",
        "-w",
        dist,
        PACKAGE,
    )
    [wheel] = dist.glob("grader_labextension-*.whl")
    # the hook found the front end built and left it alone (no second build)
    assert _snapshot(BUILT) == before
    data = f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.data/data/"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    shipped = {
        n.removeprefix(f"{data}share/jupyter/labextensions/{LABEXT_NAME}/")
        for n in names
        if n.startswith(f"{data}share/jupyter/labextensions/{LABEXT_NAME}/")
    }
    assert set(before) | {"install.json"} == shipped
    assert f"{data}etc/jupyter/jupyter_server_config.d/grader_labextension.json" in names
    assert "grader_labextension/handlers/proxy.py" in names

    # 2. a throw-away venv that sees the development venv's packages, but not their .pth
    # files (so neither the editable install of this package nor anything else it adds)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(env_dir)
    python = env_dir / "bin" / "python"
    site_packages = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    )
    (site_packages / "dev-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JUPYTER_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update(
        # nothing from the user's own Jupyter directories
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"),
        JUPYTER_PLATFORM_DIRS="1",
        PATH=f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}",
    )
    # --ignore-installed: pip sees the development venv's editable install through the
    # .pth and must neither skip the wheel nor try to uninstall that one
    _run(
        python,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-index",
        "--ignore-installed",
        "--quiet",
        "--disable-pip-version-check",
        wheel,
        env=env,
        cwd=tmp_path,
    )
    imported = _run(
        python, "-c", "import grader_labextension; print(grader_labextension.__file__)", env=env
    )
    assert Path(imported.strip()).is_relative_to(env_dir), imported

    # 3. Jupyter finds both halves in the new environment
    installed = env_dir / "share" / "jupyter" / "labextensions" / LABEXT_NAME
    labextensions = _run(python, "-m", "jupyterlab.labextensions", "list", env=env, cwd=tmp_path)
    lines = labextensions.splitlines()
    where = next(i for i, line in enumerate(lines) if line.strip() == str(installed.parent))
    [entry] = [line for line in lines[where:] if LABEXT_NAME in line]
    assert "enabled" in entry and "OK" in entry and "grader_labextension" in entry, labextensions
    assert "disabled" not in entry, labextensions

    package = json.loads((PACKAGE / "package.json").read_text())
    installed_package = json.loads((installed / "package.json").read_text())
    assert installed_package["name"] == package["name"] == LABEXT_NAME
    assert installed_package["version"] == package["version"]
    static = installed / "static"
    remote_entry = installed_package["jupyterlab"]["_build"]["load"]
    assert (installed / remote_entry).is_file(), remote_entry
    assert (static / "style.js").is_file()
    assert {p.name for p in static.iterdir()} == {
        Path(name).name for name in before if name.startswith("static/")
    }

    server = _run(
        python, "-m", "jupyter_server.extension.serverextension", "list", env=env, cwd=tmp_path
    )
    assert str(env_dir / "etc" / "jupyter") in server, server
    assert "grader_labextension enabled" in server, server
    assert re.search(r"grader_labextension [\w.+-]+ OK", server), server
