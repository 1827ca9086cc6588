"""Pure helpers for grading pods: names, labels, model conversion and the pod builder.

Nothing here talks to the API server, so everything can be tested by serialising what it
returns (and validating it with kubernetes-validate).

Names and labels
    Pod names are DNS-1123 labels (``[a-z0-9]([-a-z0-9]*[a-z0-9])?``, 63 characters);
    label values allow ``[A-Za-z0-9._-]``, must start and end alphanumeric and have at most
    63 characters. Usernames and lecture codes are neither, so :func:`safe_name_part` and
    :func:`safe_label_value` keep a valid value unchanged and otherwise replace what is
    not allowed. A value that had to be changed or shortened gets a hash of the original
    appended, so two different lecture codes can never end up with the same label (which
    a NetworkPolicy or ``kubectl delete -l`` would then treat alike).
    :func:`generate_hashed_slug` is only the final length guard on an already valid name:
    pod names are unique because they contain the job id and a random token, the rest is
    there so that an admin running ``kubectl get pods`` can tell whose grading it is.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kubernetes_asyncio.client import models as k8s

__all__ = [
    "PodScheduling",
    "PodSecurity",
    "generate_hashed_slug",
    "get_k8s_model",
    "make_pod",
    "normalize_pull_policy",
    "safe_label_value",
    "safe_name_part",
    "update_k8s_model",
]

ModelT = TypeVar("ModelT")

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_NAME_PART = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_PULL_POLICIES = {"always": "Always", "ifnotpresent": "IfNotPresent", "never": "Never"}


def _short_hash(value: str, length: int) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:length]


def generate_hashed_slug(slug: str, limit: int = 63, hash_length: int = 6) -> str:
    """``slug`` if shorter than ``limit - hash_length``, else a prefix plus a hash of it.

    The result of a long slug is ``slug[: limit - hash_length - 1] + "-" + hash``
    (exactly ``limit`` characters), lower-cased: still legible, and unique because the
    hash covers the whole slug (KubeSpawner's and Grader Service's semantics).
    """
    if len(slug) < limit - hash_length:
        return slug
    prefix = slug[: limit - hash_length - 1]
    return f"{prefix}-{_short_hash(slug, hash_length)}".lower()


def safe_name_part(value: str, limit: int = 20) -> str:
    """``value`` as a short DNS-1123 fragment (for legibility in pod names only)."""
    lowered = value.lower()
    cleaned = re.sub(r"[^a-z0-9]+", "-", lowered).strip("-")
    if cleaned == value and len(cleaned) <= limit and _NAME_PART.match(cleaned):
        return cleaned
    # changed or too long: keep a prefix and add a hash of the original
    prefix = cleaned[: max(0, limit - 7)].strip("-")
    return f"{prefix}-{_short_hash(value, 6)}" if prefix else _short_hash(value, 6)


def safe_label_value(value: str, limit: int = 63) -> str:
    """``value`` made a valid label value (unchanged if it already is one)."""
    if len(value) <= limit and _LABEL_VALUE.match(value):
        return value
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", value)
    prefix = cleaned[: limit - 7]
    prefix = re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", prefix)
    digest = _short_hash(value, 6)
    return f"{prefix}-{digest}" if prefix else digest


def normalize_pull_policy(policy: str) -> str:
    """Kubernetes' spelling of an image pull policy (``if_not_present`` -> ``IfNotPresent``)."""
    key = re.sub(r"[-_\s]", "", policy).lower()
    if key not in _PULL_POLICIES:
        raise ValueError(f"image pull policy {policy!r} is not one of Always, IfNotPresent, Never")
    return _PULL_POLICIES[key]


# -- model conversion ---------------------------------------------------------------------


def _attribute_name(model_type: type, key: str) -> str:
    """The Python attribute of ``model_type`` for ``key`` (snake_case or the JSON name)."""
    attribute_map: dict[str, str] = model_type.attribute_map  # type: ignore[attr-defined]
    if key in attribute_map:
        return key
    for attribute, json_name in attribute_map.items():
        if json_name == key:
            return attribute
    raise ValueError(f"{model_type.__name__} has no attribute {key!r}")


def _convert(type_name: str, value: Any) -> Any:
    """``value`` converted to the OpenAPI type ``type_name`` (nested dicts become models)."""
    if value is None:
        return None
    if type_name.startswith("list[") and isinstance(value, list):
        inner = type_name[5:-1]
        return [_convert(inner, item) for item in value]
    if type_name.startswith("dict(") and isinstance(value, dict):
        inner = type_name[5:-1].split(", ", 1)[1]
        return {key: _convert(inner, item) for key, item in value.items()}
    model_type = getattr(k8s, type_name, None)
    if model_type is not None and isinstance(value, dict):
        return get_k8s_model(model_type, value)
    return value


def _model_kwargs(model_type: type, model_dict: dict[str, Any]) -> dict[str, Any]:
    openapi_types: dict[str, str] = model_type.openapi_types  # type: ignore[attr-defined]
    kwargs = {}
    for key, value in model_dict.items():
        attribute = _attribute_name(model_type, key)
        kwargs[attribute] = _convert(openapi_types[attribute], value)
    return kwargs


def get_k8s_model(model_type: type[ModelT], model_dict: ModelT | dict[str, Any]) -> ModelT:
    """An instance of ``model_type``: a model passes through (copied), a dict is converted.

    Keys may be snake_case or camelCase (the JSON names), at every level: nested dicts
    become models too, so ``{"persistentVolumeClaim": {"claimName": "x"}}`` and
    ``{"persistent_volume_claim": {"claim_name": "x"}}`` give the same ``V1Volume``.
    Unknown keys raise ``ValueError``; anything but a dict or a model ``AttributeError``.
    """
    if isinstance(model_dict, model_type):
        return copy.deepcopy(model_dict)
    if isinstance(model_dict, dict):
        return model_type(**_model_kwargs(model_type, copy.deepcopy(model_dict)))
    raise AttributeError(
        f"expected a dict or {model_type.__name__}, got {type(model_dict).__name__}"
    )


def update_k8s_model(
    target: ModelT,
    changes: ModelT | dict[str, Any],
    logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
    target_name: str | None = None,
    changes_name: str | None = None,
) -> ModelT:
    """Apply ``changes`` onto ``target`` (in place) and return it.

    ``changes`` is a dict (snake_case or camelCase keys; every key is applied, even a
    falsy value, so an admin can clear a field) or a model of the same type (only its
    truthy attributes are applied: an unset attribute of a model means "no change").
    Overriding a truthy value of ``target`` is logged as a warning through ``logger``
    naming ``target_name`` and ``changes_name``, because it usually means two settings
    disagree.
    """
    model_type = type(target)
    if not hasattr(target, "attribute_map"):
        raise AttributeError(
            f"target ({model_type.__name__}) must be a Kubernetes model such as V1PodSpec"
        )
    items: list[tuple[str, Any]]
    if isinstance(changes, dict):
        items = list(_model_kwargs(model_type, copy.deepcopy(changes)).items())
        from_dict = True
    elif isinstance(changes, model_type):
        attributes: dict[str, str] = model_type.attribute_map  # type: ignore[attr-defined]
        items = [(a, getattr(changes, a)) for a in attributes]
        from_dict = False
    else:
        raise AttributeError(
            f"changes ({type(changes).__name__}) must be a dict or {model_type.__name__}"
        )
    for attribute, value in items:
        if not from_dict and not value:
            continue
        current = getattr(target, attribute)
        if current and current != value and logger is not None:
            logger.warning(
                "%s.%s: %r is overridden with %r from %s.%s",
                target_name or model_type.__name__,
                attribute,
                current,
                value,
                changes_name or "changes",
                attribute,
            )
        setattr(target, attribute, value)
    return target


# -- the pod builder ----------------------------------------------------------------------


@dataclass
class PodSecurity:
    """Who the grading container runs as; hardened by default."""

    uid: int = 1000
    gid: int = 1000
    #: group given to mounted volumes that support it (None: leave ownership alone)
    fs_group: int | None = None
    #: a RuntimeClass such as gVisor's ``gvisor`` for a second isolation layer
    runtime_class_name: str | None = None


@dataclass
class PodScheduling:
    """Where the grading pod may run."""

    node_selector: dict[str, str] = field(default_factory=dict)
    priority_class_name: str | None = None
    active_deadline_seconds: int | None = None
    termination_grace_period_seconds: int = 5


def make_pod(
    name: str,
    cmd: list[str],
    image: str,
    image_pull_policy: str,
    working_dir: str | None = None,
    volumes: list[Any] | None = None,
    volume_mounts: list[Any] | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    tolerations: list[Any] | None = None,
    *,
    env: dict[str, str] | None = None,
    resources: k8s.V1ResourceRequirements | dict[str, Any] | None = None,
    image_pull_secrets: list[str] | None = None,
    security: PodSecurity | None = None,
    scheduling: PodScheduling | None = None,
    tmp_size_limit: str | None = "1Gi",
) -> k8s.V1Pod:
    """A hardened single-container pod that runs ``cmd`` once (no API calls).

    Hardening that no option turns off: non-root uid/gid, read-only root file system,
    every capability dropped, no privilege escalation, seccomp ``RuntimeDefault``, no
    service-account token, no service-discovery environment, ``restartPolicy: Never``.
    ``/tmp`` (also ``HOME``) is a size-limited ``emptyDir`` because the root file system
    is read-only and kernels, matplotlib and pip want somewhere to write.
    ``volumes``, ``volume_mounts`` and ``tolerations`` may be dicts or models.
    """
    security = security or PodSecurity()
    scheduling = scheduling or PodScheduling()
    tmp_volume = k8s.V1Volume(
        name="tmp", empty_dir=k8s.V1EmptyDirVolumeSource(size_limit=tmp_size_limit)
    )
    mounts = [get_k8s_model(k8s.V1VolumeMount, m) for m in volume_mounts or []]
    # the pod's own emptyDir, not the host's /tmp
    mounts.append(k8s.V1VolumeMount(name="tmp", mount_path="/tmp"))  # noqa: S108
    container_env = {"HOME": "/tmp", **(env or {})}  # noqa: S108
    container = k8s.V1Container(
        name="autograde",
        image=image,
        image_pull_policy=normalize_pull_policy(image_pull_policy),
        command=list(cmd),
        working_dir=working_dir,
        env=[k8s.V1EnvVar(name=k, value=v) for k, v in container_env.items()],
        resources=get_k8s_model(k8s.V1ResourceRequirements, resources or {}),
        volume_mounts=mounts,
        security_context=k8s.V1SecurityContext(
            run_as_user=security.uid,
            run_as_group=security.gid,
            run_as_non_root=True,
            allow_privilege_escalation=False,
            privileged=False,
            read_only_root_filesystem=True,
            capabilities=k8s.V1Capabilities(drop=["ALL"]),
        ),
        termination_message_policy="FallbackToLogsOnError",
    )
    spec = k8s.V1PodSpec(
        containers=[container],
        restart_policy="Never",
        automount_service_account_token=False,
        enable_service_links=False,
        security_context=k8s.V1PodSecurityContext(
            run_as_user=security.uid,
            run_as_group=security.gid,
            run_as_non_root=True,
            fs_group=security.fs_group,
            seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
        ),
        volumes=[*(get_k8s_model(k8s.V1Volume, v) for v in volumes or []), tmp_volume],
        tolerations=[get_k8s_model(k8s.V1Toleration, t) for t in tolerations or []] or None,
        node_selector=dict(scheduling.node_selector) or None,
        priority_class_name=scheduling.priority_class_name,
        runtime_class_name=security.runtime_class_name,
        active_deadline_seconds=scheduling.active_deadline_seconds,
        termination_grace_period_seconds=scheduling.termination_grace_period_seconds,
        image_pull_secrets=[k8s.V1LocalObjectReference(name=s) for s in image_pull_secrets or []]
        or None,
    )
    return k8s.V1Pod(
        api_version="v1",
        kind="Pod",
        metadata=k8s.V1ObjectMeta(
            name=name, labels=dict(labels or {}), annotations=dict(annotations or {})
        ),
        spec=spec,
    )
