"""Fixtures of the deployment tests (Helm chart and container images).

- ``chart`` (session): the chart of ``helm/grader-service`` loaded by helm-python-sdk
  (Helm's own engine, offline).
- ``render(values, name=..., namespace=...) -> list[dict]``: the chart rendered with
  ``values`` (merged over values.yaml by Helm), as manifest objects in template order.
- ``podman`` (session): a :class:`~tests.deploy.containers.Podman` with its own storage
  under ``.cache/deploy``; skips when not root or podman/debootstrap are missing.
- ``base_image`` (session): a Debian bookworm minbase image made with debootstrap from
  the machine's apt mirror (no registry is reachable), cached as a tarball in
  ``.cache/deploy`` between runs.
- ``grader_image`` (session): images/grader/Dockerfile built on that base.
- ``service_image`` (session): images/service/Dockerfile, only with
  ``GRADER_TEST_SERVICE_IMAGE=1`` (CI builds the grading image only, to stay fast).

The image tests are marked ``slow``; ``pytest -m "not slow"`` leaves them out.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from .containers import Podman, build_base_image, container_tools_missing

ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = ROOT / "helm" / "grader-service"
CACHE = ROOT / ".cache" / "deploy"

Render = Callable[..., list[dict[str, Any]]]


@pytest.fixture(scope="session")
def chart() -> Any:
    """The chart, loaded once."""
    helm = pytest.importorskip("helm_python")
    return helm.Chart.load(CHART_DIR)


@pytest.fixture(scope="session")
def render(chart: Any) -> Render:
    """Render the chart with some values into manifest objects (empty documents dropped)."""

    def _render(
        values: dict[str, Any] | None = None, *, name: str = "grader", namespace: str = "jhub"
    ) -> list[dict[str, Any]]:
        manifests = chart.render(values or {}, name=name, namespace=namespace, is_install=True)
        objects = []
        for template in sorted(manifests):
            if not template.endswith((".yaml", ".yml")):
                continue
            objects.extend(doc for doc in yaml.safe_load_all(manifests[template]) if doc)
        return objects

    return _render


@pytest.fixture(scope="session")
def podman() -> Podman:
    """podman with the flags this kind of machine needs, or a skip saying what is missing."""
    missing = container_tools_missing()
    if missing:
        pytest.skip(missing)
    return Podman(storage=CACHE / "podman")


@pytest.fixture(scope="session")
def base_image(podman: Podman) -> str:
    """A local Debian bookworm base image (debootstrap, cached as a tarball)."""
    return build_base_image(podman, CACHE)


@pytest.fixture(scope="session")
def grader_image(podman: Podman, base_image: str) -> str:
    """The grading runtime image, built from the repository on the local base."""
    return podman.build_image("grader", base_image, ROOT)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: builds or runs container images (tens of seconds; needs root)"
    )


@pytest.fixture(scope="session")
def service_image(podman: Podman, base_image: str) -> str:
    """The service image (opt-in: GRADER_TEST_SERVICE_IMAGE=1; it adds a minute or two)."""
    if os.environ.get("GRADER_TEST_SERVICE_IMAGE") != "1":
        pytest.skip("set GRADER_TEST_SERVICE_IMAGE=1 to build and run the service image")
    return podman.build_image("service", base_image, ROOT)
