"""The pure helpers of grading pods: names, labels, model conversion, the pod builder."""

from __future__ import annotations

import hashlib
import logging
import re

import kubernetes_validate
import pytest
from kubernetes_asyncio.client import ApiClient
from kubernetes_asyncio.client import models as k8s

from grader_service.autograding.kube.util import (
    PodScheduling,
    PodSecurity,
    generate_hashed_slug,
    get_k8s_model,
    make_pod,
    normalize_pull_policy,
    safe_label_value,
    safe_name_part,
    update_k8s_model,
)

LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


# sanitize_for_serialization needs no connection; a real ApiClient needs an event loop
_SERIALIZER = object.__new__(ApiClient)


def serialize(model: object) -> dict:
    """A model as the JSON the API server receives."""
    return _SERIALIZER.sanitize_for_serialization(model)


# -- generate_hashed_slug ----------------------------------------------------------------


def test_short_slug_is_returned_unchanged() -> None:
    assert generate_hashed_slug("grade-1-lect1") == "grade-1-lect1"
    # shorter than limit - hash_length, case kept
    assert generate_hashed_slug("A" * 56) == "A" * 56


def test_long_slug_is_truncated_and_hashed() -> None:
    slug = "Grade-" + "x" * 70
    result = generate_hashed_slug(slug)
    digest = hashlib.sha256(slug.encode()).hexdigest()[:6]
    assert result == (slug[:56] + "-" + digest).lower()
    assert len(result) == 63


def test_slug_at_the_boundary_is_hashed() -> None:
    # len == limit - hash_length is not "shorter than": hashed
    assert generate_hashed_slug("a" * 57) != "a" * 57
    assert len(generate_hashed_slug("a" * 57)) == 63


def test_hashed_slug_limits_are_parameters() -> None:
    result = generate_hashed_slug("abcdefghijkl", limit=10, hash_length=4)
    assert result == "abcde-" + hashlib.sha256(b"abcdefghijkl").hexdigest()[:4]


def test_long_slugs_with_the_same_prefix_stay_distinct() -> None:
    assert generate_hashed_slug("p" * 80 + "1") != generate_hashed_slug("p" * 80 + "2")


# -- labels and name parts -----------------------------------------------------------------


@pytest.mark.parametrize("value", ["lect1", "ML_2025.winter", "a", ""])
def test_valid_label_values_are_kept(value: str) -> None:
    assert safe_label_value(value) == value


@pytest.mark.parametrize(
    "value", ["Data Science!", "-x-", "ä" * 5, "x" * 80, "alice@uni.test", "__"]
)
def test_invalid_label_values_are_made_valid_and_distinct(value: str) -> None:
    result = safe_label_value(value)
    assert LABEL_VALUE.match(result) and len(result) <= 63
    assert result != safe_label_value(value + "?")


@pytest.mark.parametrize("value", ["Alice.Example@uni.test", "lect1", "ÜBUNG 2", "x" * 40])
def test_name_parts_are_dns_labels(value: str) -> None:
    part = safe_name_part(value)
    assert DNS_LABEL.match(part) and len(part) <= 20


def test_pull_policy_is_normalised() -> None:
    assert normalize_pull_policy("always") == "Always"
    assert normalize_pull_policy("if_not_present") == "IfNotPresent"
    assert normalize_pull_policy("if-not-present") == "IfNotPresent"
    assert normalize_pull_policy("Never") == "Never"
    with pytest.raises(ValueError, match="Always, IfNotPresent, Never"):
        normalize_pull_policy("sometimes")


# -- get_k8s_model -------------------------------------------------------------------------


def test_get_k8s_model_passes_a_model_through() -> None:
    mount = k8s.V1VolumeMount(name="a", mount_path="/a")
    result = get_k8s_model(k8s.V1VolumeMount, mount)
    assert isinstance(result, k8s.V1VolumeMount) and result == mount


def test_get_k8s_model_accepts_camel_and_snake_case_at_every_level() -> None:
    camel = get_k8s_model(
        k8s.V1Volume, {"name": "d", "persistentVolumeClaim": {"claimName": "c", "readOnly": True}}
    )
    snake = get_k8s_model(
        k8s.V1Volume,
        {"name": "d", "persistent_volume_claim": {"claim_name": "c", "read_only": True}},
    )
    assert camel == snake
    assert isinstance(camel.persistent_volume_claim, k8s.V1PersistentVolumeClaimVolumeSource)
    assert serialize(camel) == {
        "name": "d",
        "persistentVolumeClaim": {"claimName": "c", "readOnly": True},
    }


def test_get_k8s_model_converts_lists_and_maps_of_models() -> None:
    spec = get_k8s_model(
        k8s.V1PodSpec,
        {"containers": [{"name": "c", "image": "i"}], "nodeSelector": {"disk": "ssd"}},
    )
    assert isinstance(spec.containers[0], k8s.V1Container)
    assert spec.node_selector == {"disk": "ssd"}


def test_get_k8s_model_rejects_unknown_keys_and_other_types() -> None:
    with pytest.raises(ValueError, match="claimNamee"):
        get_k8s_model(k8s.V1PersistentVolumeClaimVolumeSource, {"claimNamee": "x"})
    with pytest.raises(AttributeError):
        get_k8s_model(k8s.V1Volume, ["not", "a", "dict"])  # type: ignore[arg-type]


def test_get_k8s_model_does_not_share_the_input() -> None:
    data = {"key": "k", "operator": "Exists"}
    toleration = get_k8s_model(k8s.V1Toleration, data)
    toleration.key = "changed"
    assert data["key"] == "k"


# -- update_k8s_model ----------------------------------------------------------------------


def test_update_from_a_dict_applies_every_key_and_warns_on_overrides(
    caplog: pytest.LogCaptureFixture,
) -> None:
    spec = k8s.V1PodSpec(containers=[], dns_policy="ClusterFirst", hostname="h")
    logger = logging.getLogger("test.update")
    with caplog.at_level(logging.WARNING, "test.update"):
        result = update_k8s_model(
            spec,
            {"dnsPolicy": "None", "hostname": None, "subdomain": "s"},
            logger,
            target_name="pod.spec",
            changes_name="extra_pod_config",
        )
    assert result is spec
    assert spec.dns_policy == "None" and spec.hostname is None and spec.subdomain == "s"
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2  # dns_policy and hostname had truthy values
    assert any(
        "pod.spec.dns_policy" in m and "extra_pod_config.dns_policy" in m and "'None'" in m
        for m in messages
    )


def test_update_from_a_model_applies_only_truthy_values(caplog: pytest.LogCaptureFixture) -> None:
    target = k8s.V1Toleration(key="a", operator="Exists", effect="NoSchedule")
    changes = k8s.V1Toleration(key="b")  # operator and effect unset
    with caplog.at_level(logging.WARNING):
        update_k8s_model(target, changes)  # no logger: silent
    assert (target.key, target.operator, target.effect) == ("b", "Exists", "NoSchedule")
    assert not caplog.records


def test_update_rejects_unknown_keys_and_wrong_types() -> None:
    with pytest.raises(ValueError, match="nodeSelectorr"):
        update_k8s_model(k8s.V1PodSpec(containers=[]), {"nodeSelectorr": {}})
    with pytest.raises(AttributeError):
        update_k8s_model({"not": "a model"}, {})
    with pytest.raises(AttributeError):
        update_k8s_model(k8s.V1PodSpec(containers=[]), k8s.V1Toleration())  # type: ignore[arg-type]


# -- make_pod ------------------------------------------------------------------------------


def test_make_pod_is_hardened_and_valid() -> None:
    pod = make_pod(
        "grade-1",
        ["grader-convert", "autograde"],
        "registry.example.org/grading:1",
        "if_not_present",
        working_dir="/grader/job/input",
        volumes=[{"name": "job", "persistentVolumeClaim": {"claimName": "data"}}],
        volume_mounts=[{"name": "job", "mountPath": "/grader/job", "subPath": "x/y"}],
        labels={"app": "grader"},
        annotations={"note": "n"},
        tolerations=[{"key": "grading", "operator": "Exists", "effect": "NoSchedule"}],
        resources={"limits": {"memory": "1Gi", "cpu": "1", "ephemeral-storage": "1Gi"}},
        image_pull_secrets=["regcred"],
        security=PodSecurity(uid=2000, gid=3000, runtime_class_name="gvisor"),
        scheduling=PodScheduling(node_selector={"pool": "grading"}, active_deadline_seconds=60),
    )
    manifest = serialize(pod)
    kubernetes_validate.validate(manifest, "1.33.0", strict=True)
    spec = manifest["spec"]
    container = spec["containers"][0]
    assert container["command"] == ["grader-convert", "autograde"]
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsGroup": 3000,
        "runAsNonRoot": True,
        "runAsUser": 2000,
    }
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    assert spec["enableServiceLinks"] is False
    assert spec["restartPolicy"] == "Never"
    assert spec["activeDeadlineSeconds"] == 60
    assert spec["runtimeClassName"] == "gvisor"
    assert spec["imagePullSecrets"] == [{"name": "regcred"}]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}} in spec["volumes"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {"name": "HOME", "value": "/tmp"} in container["env"]
