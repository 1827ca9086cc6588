"""The grading runtime image, built with podman from the repository, grades a real job
the way a grading pod does: uid 1000, read-only root, only /tmp writable, no network."""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader_service.convert import GenerateAssignment

from .conftest import Render
from .containers import ULIMITS, Podman

# the first test also debootstraps the base and builds the image (minutes, cold)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

# What make_pod gives a grading container, in podman terms.
POD_LIKE = [
    "--rm",
    "--network=none",
    "--read-only",
    "--tmpfs=/tmp:rw,size=256m,mode=1777",
    "--cap-drop=ALL",
    "--security-opt=no-new-privileges",
    "--memory=1g",
    "--pids-limit=256",
    *ULIMITS,
]

SOLUTION = "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION\n"
ANSWER = "def add(a, b):\n    return a + b\n"


def nbgrader(grade_id: str, **flags: object) -> dict[str, object]:
    return {"nbgrader": {"grade_id": grade_id, "schema_version": 3, **flags}}


def source_notebook() -> nbformat.NotebookNode:
    """An assignment worth 5 points: a visible test (2) and one with hidden tests (3)."""
    cells = [
        new_markdown_cell("Write `add`.", metadata=nbgrader("intro", locked=True)),
        new_code_cell(SOLUTION, metadata=nbgrader("answer", solution=True)),
        new_code_cell(
            "assert add(1, 2) == 3",
            metadata=nbgrader("visible", grade=True, locked=True, points=2),
        ),
        new_code_cell(
            "assert add(0, 0) == 0\n### BEGIN HIDDEN TESTS\nassert add(-2, 1) == -1\n"
            "### END HIDDEN TESTS\n",
            metadata=nbgrader("hidden", grade=True, locked=True, points=3),
        ),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python", "language": "python"}
    return nb


def make_job(root: Path, answer: str) -> Path:
    """A job directory as the executors prepare it: input/ and output/gradebook.json."""
    source, job = root / "source", root / "job"
    source.mkdir(parents=True)
    nbformat.write(source_notebook(), source / "add.ipynb")
    # the release and its gradebook (with the hidden tests) go to output/, as the service
    # puts the gradebook there for autograde
    GenerateAssignment().convert(source, job / "output")
    released = nbformat.read(job / "output" / "add.ipynb", as_version=4)
    for cell in released.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "answer":
            cell.source = answer
    (job / "input").mkdir()
    nbformat.write(released, job / "input" / "add.ipynb")
    (job / "output" / "add.ipynb").unlink()
    # the grading container runs as uid 1000, like the service that writes job dirs
    for path in [job, *job.rglob("*")]:
        os.chown(path, 1000, 1000)
    return job


def grade(podman: Podman, image: str, job: Path) -> dict[str, float | None]:
    """Run the pod's command on ``job``; the per-cell auto scores of the gradebook."""
    podman(
        "run",
        *POD_LIKE,
        "-v",
        f"{job}:/job",
        image,
        "grader-convert",
        "autograde",
        "-i",
        "/job/input",
        "-o",
        "/job/output",
        timeout=300,
    )
    gradebook = json.loads((job / "output" / "gradebook.json").read_text())
    grades = gradebook["notebooks"]["add"]["grades_dict"]
    return {grade_id: grade["auto_score"] for grade_id, grade in grades.items()}


def test_grader_image_grades_a_correct_submission(
    podman: Podman, grader_image: str, tmp_path: Path
) -> None:
    job = make_job(tmp_path, ANSWER)
    assert grade(podman, grader_image, job) == {"visible": 2.0, "hidden": 3.0}
    assert (job / "output" / "add.ipynb").exists()  # the graded notebook


def test_grader_image_runs_the_hidden_tests(
    podman: Podman, grader_image: str, tmp_path: Path
) -> None:
    """Right for the visible test only: the hidden one, run in the container, fails."""
    job = make_job(tmp_path, "def add(a, b):\n    return abs(a + b)\n")
    assert grade(podman, grader_image, job) == {"visible": 2.0, "hidden": 0.0}


def test_grader_image_is_non_root_with_nothing_writable_but_tmp(
    podman: Podman, grader_image: str
) -> None:
    script = (
        "import os, pathlib, socket\n"
        "print(os.getuid(), os.getgid())\n"
        "for d in ('/', '/opt/grader', '/home/grader', '/tmp'):\n"
        "    print(d, os.access(d, os.W_OK))\n"
        "print([name for _, name in socket.if_nameindex()])\n"
    )
    result = podman("run", *POD_LIKE, grader_image, "python3", "-c", script, timeout=120)
    assert result.stdout.split("\n")[:6] == [
        "1000 1000",
        "/ False",
        "/opt/grader False",
        "/home/grader False",
        "/tmp True",
        "['lo']",
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_service_image_runs_the_chart_config(
    podman: Podman, service_image: str, render: Render, tmp_path: Path
) -> None:
    """The Deployment's two commands, in its security context: upgrade-db, then serve."""
    port = free_port()
    values = {
        "service": {"port": port},
        "grading": {"executor": "local", "local": {"privileged": False}},
        "persistence": {"accessMode": "ReadWriteOnce"},
        # the host's network namespace here: listen on loopback only
        "extraConfig": {"99-test": 'c.GraderService.service_host = "127.0.0.1"'},
    }
    config_map = next(o for o in render(values) if o["kind"] == "ConfigMap")
    config_dir, data_dir = tmp_path / "config", tmp_path / "data"
    config_dir.mkdir()
    data_dir.mkdir()
    os.chown(data_dir, 1000, 1000)
    for name, content in config_map["data"].items():
        (config_dir / name).write_text(content)
    pod = [
        "--read-only",
        "--tmpfs=/tmp:rw,size=256m,mode=1777",
        "--cap-drop=ALL",
        "--security-opt=no-new-privileges",
        *ULIMITS,
        "-e",
        "HOME=/tmp",
        "-e",
        "JUPYTERHUB_API_TOKEN=test-token",
        "-v",
        f"{config_dir}:/etc/grader-service:ro",
        "-v",
        f"{data_dir}:/var/lib/grader-service",
    ]
    config = "/etc/grader-service/grader_service_config.py"
    migrated = podman(
        "run", "--rm", "--network=none", *pod, service_image,
        "grader-service", "upgrade-db", "-f", config,
    )  # fmt: skip
    assert "up to date" in migrated.stdout
    name = f"grader-service-test-{port}"
    podman("run", "-d", "--name", name, "--network=host", *pod, service_image)
    try:
        url = f"http://127.0.0.1:{port}/services/grader/api/health"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline:
                    logs = podman("logs", name, timeout=30)
                    pytest.fail(f"no health answer in 60 s:\n{logs.stdout}{logs.stderr}")
                time.sleep(0.5)
        assert (data_dir / "grader.sqlite").exists()
    finally:
        podman("rm", "--force", "--time", "5", name, timeout=60)
