"""The Helm chart: linted strictly, rendered with the value sets operators use, every
manifest valid for Kubernetes 1.33, bad values refused, every value used, and the
generated grader_service_config.py loaded by the service's own configurable classes."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from traitlets import TraitError
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from grader_service.app import GraderService
from grader_service.auth import Authenticator, JupyterHubAuthenticator
from grader_service.autograding.executor import GradingTask
from grader_service.autograding.kernel_pool import KernelPool
from grader_service.autograding.kube import KubeAutogradeExecutor
from grader_service.autograding.limits import CellTimeoutPolicy, ImagePolicy
from grader_service.autograding.local import LocalAutogradeExecutor
from grader_service.autograding.sandbox import Sandbox
from grader_service.autograding.scheduler import GradingScheduler
from grader_service.git.server import GitServer

from .conftest import CHART_DIR, Render

KUBE_VERSION = "1.33.0"
PG_URL = "postgresql+asyncpg://grader:secret@postgres:5432/grader"
# A fixed token: without one the chart generates a random token at every render.
TOKEN = {"hub": {"apiToken": "test-token"}}

VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "local-executor": {
        "grading": {"executor": "local", "local": {"privileged": True, "kernelPoolSize": 1}},
        "persistence": {"accessMode": "ReadWriteOnce"},
        "hub": {"adminUsers": ["admin"]},
        "loadRoles": {"lect1": [{"role": "instructor", "members": ["alice"]}]},
    },
    "kubernetes-postgresql-ingress": {
        "replicas": 2,
        "database": {"dialect": "postgresql", "url": PG_URL},
        "grading": {
            "executor": "kubernetes",
            "allowedImages": ["registry.example.org/grading/*"],
            "kubernetes": {
                "image": {"repository": "registry.example.org/grading/base", "tag": "1.0"},
                "lectureImages": {
                    "ml": "registry.example.org/grading/ml:2025",
                    "db": {"SQL basics": "registry.example.org/grading/pg:16"},
                },
                "nodeSelector": {"pool": "grading"},
                "runtimeClassName": "gvisor",
            },
        },
        "ingress": {
            "enabled": True,
            "className": "nginx",
            "host": "grader.example.org",
            "tlsSecretName": "grader-tls",
        },
        "hub": {"existingSecret": "hub-token"},
        "networkPolicy": {
            "egress": {"database": {"to": [{"podSelector": {"matchLabels": {"app": "pg"}}}]}}
        },
    },
}


def merge(base: dict[str, Any], *overrides: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``overrides`` into a copy of ``base`` (as Helm merges values files)."""
    result = copy.deepcopy(base)
    for override in overrides:
        for key, value in override.items():
            if isinstance(value, dict) and isinstance(result.get(key), dict):
                result[key] = merge(result[key], value)
            else:
                result[key] = copy.deepcopy(value)
    return result


def at(path: str, value: Any) -> dict[str, Any]:
    """``at("a.b", 1)`` -> ``{"a": {"b": 1}}``."""
    result: Any = value
    for key in reversed(path.split(".")):
        result = {key: result}
    return result


def find(objects: list[dict[str, Any]], kind: str, suffix: str = "") -> dict[str, Any]:
    """The one object of ``kind`` whose name ends with ``suffix``."""
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"].endswith(suffix)]
    assert len(matches) == 1, f"{kind} *{suffix}: {[o['metadata']['name'] for o in matches]}"
    return matches[0]


def kinds(objects: list[dict[str, Any]]) -> list[str]:
    return sorted(o["kind"] for o in objects)


# -- lint and render ------------------------------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_lint_strict(value_set: str) -> None:
    """helm lint --strict: no warnings or errors (info such as 'icon is recommended' is ok)."""
    helm = pytest.importorskip("helm_python")
    report = helm.lint(
        CHART_DIR, VALUE_SETS[value_set], strict=True, kube_version=f"v{KUBE_VERSION}"
    )
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not problems and not report["errors"], report


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_manifest_is_valid_kubernetes(render: Render, value_set: str) -> None:
    """Every rendered object passes Kubernetes' schema (strict: no unknown fields)."""
    objects = render(VALUE_SETS[value_set])
    assert objects
    for obj in objects:
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)


def test_defaults_render_the_kubernetes_setup(render: Render) -> None:
    objects = render()
    assert kinds(objects) == [
        "ConfigMap",
        "Deployment",
        "NetworkPolicy",
        "NetworkPolicy",
        "PersistentVolumeClaim",
        "PodDisruptionBudget",
        "Role",
        "RoleBinding",
        "Secret",
        "Service",
        "ServiceAccount",
    ]
    claim = find(objects, "PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_deployment_is_hardened_and_probed(render: Render) -> None:
    deployment = find(render(), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 1000
    (init,) = pod["initContainers"]
    assert init["command"] == [
        "grader-service",
        "upgrade-db",
        "-f",
        "/etc/grader-service/grader_service_config.py",
    ]
    (container,) = pod["containers"]
    for c in (init, container):
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
        assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]
        assert c["resources"]["requests"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {
            "path": "/services/grader/api/health",
            "port": "http",
        }
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes["tmp"]
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "grader-grader-service-data"
    # SQLite: the old pod stops before the new one starts
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    # Zero to JupyterHub's hub only accepts pods with this label
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels["hub.jupyter.org/network-access-hub"] == "true"


def test_probes_follow_the_base_url(render: Render) -> None:
    deployment = find(render({"baseUrl": "/services/grading/"}), "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/services/grading/api/health"


def test_local_executor_runs_privileged_without_kube_access(render: Render) -> None:
    objects = render(VALUE_SETS["local-executor"])
    assert "Role" not in kinds(objects)
    assert not any(o["metadata"]["name"].endswith("grading-jobs") for o in objects)
    pod = find(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsUser"] == 0
    (container,) = pod["containers"]
    assert container["securityContext"]["privileged"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # the migration needs no privileges
    (init,) = pod["initContainers"]
    assert init["securityContext"]["privileged"] is False
    assert init["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert {"name": "sandboxes", "mountPath": "/srv/grading"} in container["volumeMounts"]


def test_rbac_grants_exactly_what_the_kube_executor_uses(render: Render) -> None:
    objects = render()
    role = find(objects, "Role")
    granted = {
        (resource, verb)
        for rule in role["rules"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert granted == {
        *(("pods", v) for v in ("get", "list", "watch", "create", "delete")),
        ("pods/status", "get"),
        ("pods/log", "get"),
        ("persistentvolumeclaims", "get"),
    }
    assert all(rule["apiGroups"] == [""] for rule in role["rules"])
    binding = find(objects, "RoleBinding")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "grader-grader-service", "namespace": "jhub"}
    ]
    assert find(objects, "ServiceAccount")["automountServiceAccountToken"] is True


def test_grading_pods_get_no_network_at_all(render: Render) -> None:
    """The executor's pod labels are selected, and the policy has no rule: deny all."""
    policy = find(render(), "NetworkPolicy", "-grading-jobs")
    executor = KubeAutogradeExecutor(instance_name="grader")
    selector = policy["spec"]["podSelector"]["matchLabels"]
    assert selector.items() <= executor.pod_labels.items()
    assert sorted(policy["spec"]["policyTypes"]) == ["Egress", "Ingress"]
    assert "ingress" not in policy["spec"] and "egress" not in policy["spec"]


def test_service_network_policy_allows_only_what_it_needs(render: Render) -> None:
    policy = find(render(), "NetworkPolicy", "grader-grader-service")["spec"]
    egress_ports = sorted(p["port"] for rule in policy["egress"] for p in rule["ports"])
    # DNS (udp+tcp), the hub API, the Kubernetes API; no database port with SQLite
    assert egress_ports == [53, 53, 443, 6443, 8081]
    pg = find(render(VALUE_SETS["kubernetes-postgresql-ingress"]), "NetworkPolicy", "service")
    db_rule = [r for r in pg["spec"]["egress"] if r["ports"][0]["port"] == 5432]
    assert db_rule == [
        {
            "ports": [{"port": 5432, "protocol": "TCP"}],
            "to": [{"podSelector": {"matchLabels": {"app": "pg"}}}],
        }
    ]
    local = find(render(VALUE_SETS["local-executor"]), "NetworkPolicy")["spec"]
    assert 6443 not in [p["port"] for rule in local["egress"] for p in rule["ports"]]


def test_postgresql_ingress_and_replicas(render: Render) -> None:
    objects = render(VALUE_SETS["kubernetes-postgresql-ingress"])
    deployment = find(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["GRADER_DB_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "grader-grader-service",
        "key": "db-url",
    }
    assert env["JUPYTERHUB_API_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "hub-token",
        "key": "hub-api-token",
    }
    secret = find(objects, "Secret")
    assert set(secret["data"]) == {"db-url"}  # the hub token comes from hub-token
    ingress = find(objects, "Ingress")["spec"]
    assert ingress["rules"][0]["http"]["paths"][0]["path"] == "/services/grader/"
    assert ingress["tls"] == [{"hosts": ["grader.example.org"], "secretName": "grader-tls"}]
    # the database URL is a secret: never in the ConfigMap
    assert "secret@postgres" not in json.dumps(find(objects, "ConfigMap"))


def test_existing_secrets_replace_ours(render: Render) -> None:
    objects = render(
        {
            "hub": {"existingSecret": "hub"},
            "database": {"dialect": "postgresql", "existingSecret": "db"},
        }
    )
    assert "Secret" not in kinds(objects)


# -- refused values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"replicas": "two"}, "/replicas"),
        ({"unknownKey": 1}, "unknownKey"),
        ({"grading": {"executor": "docker"}}, "/grading/executor"),
        ({"grading": {"kubernetes": {"imagePullPolicy": "Always"}}}, "imagePullPolicy"),
        ({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
        ({"baseUrl": "services/grader"}, "/baseUrl"),
        ({"database": {"dialect": "postgresql"}}, "/database"),
        ({"database": {"dialect": "postgresql", "url": "mysql://x/y"}}, "/database"),
        ({"database": {"url": PG_URL}}, "/database/url"),
        ({"persistence": {"accessMode": "ReadOnlyMany"}}, "/persistence/accessMode"),
        ({"loadRoles": {"l1": [{"role": "owner", "members": []}]}}, "role"),
        ({"grading": {"local": {"memoryLimit": "1Gi"}}}, "memoryLimit"),
        ({"resources": {"limits": {"memory": "lots"}}}, "memory"),
        ({"extraConfig": ["c.X = 1"]}, "/extraConfig"),
    ],
)
def test_schema_refuses_bad_values(render: Render, values: dict[str, Any], reason: str) -> None:
    helm = pytest.importorskip("helm_python")
    with pytest.raises(helm.HelmValuesError, match="schema") as info:
        render(values)
    assert reason in str(info.value)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"replicas": 2}, "replicas=2 needs database.dialect=postgresql"),
        (
            {"grading": {"executor": "kubernetes"}, "persistence": {"accessMode": "ReadWriteOnce"}},
            "must be ReadWriteMany",
        ),
        ({"shutdownTimeout": 30, "terminationGracePeriodSeconds": 30}, "shutdownTimeout"),
        ({"ingress": {"enabled": True, "host": ""}}, "ingress.host"),
    ],
)
def test_templates_refuse_inconsistent_values(
    render: Render, values: dict[str, Any], message: str
) -> None:
    helm = pytest.importorskip("helm_python")
    with pytest.raises(helm.HelmRenderError, match=message):
        render(values)


# -- every value is used --------------------------------------------------------------------

LOCAL = {"grading": {"executor": "local"}}
POSTGRES = {"database": {"dialect": "postgresql", "url": PG_URL}}
INGRESS = {"ingress": {"enabled": True}}
PEER = [{"podSelector": {"matchLabels": {"app": "x"}}}]

# (leaf of values.yaml, a different valid value, values that make it matter, and more
# values the change needs). The test fails for a leaf of values.yaml missing here.
CHANGES: list[tuple[str, Any, dict[str, Any], dict[str, Any]]] = [
    ("nameOverride", "grading", {}, {}),
    ("fullnameOverride", "my-grader", {}, {}),
    ("image.repository", "registry.example.org/grader-service", {}, {}),
    ("image.tag", "9.9.9", {}, {}),
    ("image.pullPolicy", "Always", {}, {}),
    ("imagePullSecrets", [{"name": "regcred"}], {}, {}),
    ("replicas", 3, POSTGRES, {}),
    ("baseUrl", "/services/grading/", {}, {}),
    ("logLevel", "DEBUG", {}, {}),
    ("hub.apiUrl", "http://hub.jhub.svc:8081/hub/api", {}, {}),
    ("hub.serviceName", "grading", {}, {}),
    ("hub.apiToken", "another-token", {}, {}),
    ("hub.existingSecret", "hub-token", {}, {}),
    ("hub.existingSecretKey", "token", {"hub": {"existingSecret": "hub-token"}}, {}),
    ("hub.networkAccessLabel", False, {}, {}),
    ("hub.adminUsers", ["alice"], {}, {}),
    ("hub.tokenCacheTtl", 5, {}, {}),
    ("database.dialect", "postgresql", {}, {"database": {"url": PG_URL}}),
    ("database.url", PG_URL.replace("secret", "other"), POSTGRES, {}),
    ("database.existingSecret", "db", POSTGRES, {}),
    ("database.existingSecretKey", "uri", merge(POSTGRES, at("database.existingSecret", "db")), {}),
    ("persistence.existingClaim", "course-data", {}, {}),
    ("persistence.storageClassName", "nfs", {}, {}),
    ("persistence.accessMode", "ReadWriteOnce", LOCAL, {}),
    ("persistence.size", "50Gi", {}, {}),
    ("persistence.keepOnUninstall", False, {}, {}),
    ("service.type", "NodePort", {}, {}),
    ("service.port", 8000, {}, {}),
    ("service.annotations", {"a": "b"}, {}, {}),
    ("ingress.enabled", True, {}, {}),
    ("ingress.className", "nginx", INGRESS, {}),
    ("ingress.annotations", {"a": "b"}, INGRESS, {}),
    ("ingress.host", "other.example.org", INGRESS, {}),
    ("ingress.tlsSecretName", "tls", INGRESS, {}),
    ("grading.executor", "local", {}, {"persistence": {"accessMode": "ReadWriteMany"}}),
    ("grading.maxConcurrentJobs", 4, {}, {}),
    ("grading.defaultCellTimeout", 30, {}, {}),
    ("grading.maxCellTimeout", 600, {}, {}),
    ("grading.allowedImages", ["registry.example.org/*"], {}, {}),
    ("grading.local.privileged", False, LOCAL, {}),
    ("grading.local.kernelPoolSize", 1, LOCAL, {}),
    ("grading.local.memoryLimit", 2**31, LOCAL, {}),
    ("grading.local.pidsLimit", 64, LOCAL, {}),
    ("grading.local.cpuLimit", 0.5, LOCAL, {}),
    ("grading.local.tmpSize", 2**27, LOCAL, {}),
    ("grading.kubernetes.image.repository", "registry.example.org/runtime", {}, {}),
    ("grading.kubernetes.image.tag", "2.0", {}, {}),
    ("grading.kubernetes.image.pullPolicy", "Always", {}, {}),
    ("grading.kubernetes.imagePullSecrets", ["regcred"], {}, {}),
    ("grading.kubernetes.lectureImages", {"ml": "registry.example.org/ml:1"}, {}, {}),
    ("grading.kubernetes.resources.requests.cpu", "100m", {}, {}),
    ("grading.kubernetes.resources.requests.memory", "256Mi", {}, {}),
    ("grading.kubernetes.resources.requests.ephemeral-storage", "1Gi", {}, {}),
    ("grading.kubernetes.resources.limits.cpu", "2", {}, {}),
    ("grading.kubernetes.resources.limits.memory", "2Gi", {}, {}),
    ("grading.kubernetes.resources.limits.ephemeral-storage", "4Gi", {}, {}),
    ("grading.kubernetes.maxGradingTime", 600, {}, {}),
    ("grading.kubernetes.nodeSelector", {"pool": "grading"}, {}, {}),
    ("grading.kubernetes.tolerations", [{"key": "grading", "operator": "Exists"}], {}, {}),
    ("grading.kubernetes.runtimeClassName", "gvisor", {}, {}),
    ("loadRoles", {"l1": [{"role": "student", "members": ["bob"]}]}, {}, {}),
    ("git.maxFileSizeMb", 50, {}, {}),
    ("git.maxFileCount", 100, {}, {}),
    ("metrics.requireAuth", False, {}, {}),
    ("extraConfig", {"10-lease": "c.GradingScheduler.lease_duration = 120"}, {}, {}),
    ("extraEnv", [{"name": "TZ", "value": "Europe/Vienna"}], {}, {}),
    ("resources.requests.cpu", "1", {}, {}),
    ("resources.requests.memory", "1Gi", {}, {}),
    ("resources.limits.memory", "4Gi", {}, {}),
    ("tmpSizeLimit", "2Gi", {}, {}),
    ("terminationGracePeriodSeconds", 60, {}, {}),
    ("shutdownTimeout", 5, {}, {}),
    ("podAnnotations", {"a": "b"}, {}, {}),
    ("podLabels", {"team": "teaching"}, {}, {}),
    ("nodeSelector", {"pool": "services"}, {}, {}),
    ("tolerations", [{"key": "services", "operator": "Exists"}], {}, {}),
    ("affinity", {"nodeAffinity": {}}, {}, {}),
    ("serviceAccount.create", False, {}, {}),
    ("serviceAccount.name", "grader", {}, {}),
    ("serviceAccount.annotations", {"a": "b"}, {}, {}),
    ("rbac.create", False, {}, {}),
    ("networkPolicy.enabled", False, {}, {}),
    ("networkPolicy.ingressFrom", PEER, {}, {}),
    ("networkPolicy.egress.hub.to", PEER, {}, {}),
    ("networkPolicy.egress.hub.port", 8082, {}, {}),
    ("networkPolicy.egress.database.to", PEER, POSTGRES, {}),
    ("networkPolicy.egress.database.port", 6432, POSTGRES, {}),
    ("networkPolicy.egress.kubeApi.cidr", "10.0.0.1/32", {}, {}),
    ("networkPolicy.egress.kubeApi.ports", [6443], {}, {}),
    ("networkPolicy.egress.extra", [{"to": PEER}], {}, {}),
    ("podDisruptionBudget.enabled", False, {}, {}),
    ("podDisruptionBudget.maxUnavailable", "50%", {}, {}),
]


def leaves(values: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of values.yaml's settings (empty maps and lists are settings too)."""
    paths = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            paths += leaves(value, f"{path}.")
        else:
            paths.append(path)
    return paths


def test_every_value_has_a_change_below() -> None:
    defaults = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    assert sorted(leaves(defaults)) == sorted(path for path, *_ in CHANGES)


@pytest.mark.parametrize(
    ("path", "value", "context", "needs"), CHANGES, ids=[change[0] for change in CHANGES]
)
def test_every_value_changes_the_output(
    render: Render, path: str, value: Any, context: dict[str, Any], needs: dict[str, Any]
) -> None:
    """No value is silently ignored: changing it changes what is deployed."""
    before = render(merge(TOKEN, context))
    after = render(merge(TOKEN, context, needs, at(path, value)))
    assert before != after


# -- the generated configuration ------------------------------------------------------------

CONFIGURABLES = [
    GraderService,
    Authenticator,
    JupyterHubAuthenticator,
    GitServer,
    GradingScheduler,
    CellTimeoutPolicy,
    ImagePolicy,
    LocalAutogradeExecutor,
    KubeAutogradeExecutor,
    Sandbox,
    KernelPool,
]


def load_config(render: Render, values: dict[str, Any], tmp_path: Path) -> Config:
    """The chart's grader_service_config.py, loaded the way the service loads it."""
    config_map = find(render(values), "ConfigMap", "-config")
    for name, content in config_map["data"].items():
        (tmp_path / name).write_text(content)
    return PyFileConfigLoader("grader_service_config.py", path=str(tmp_path)).load_config()


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_generated_config_sets_only_real_traits(
    render: Render, value_set: str, tmp_path: Path
) -> None:
    """Each key is a configurable trait, and each class accepts its values."""
    config = load_config(render, VALUE_SETS[value_set], tmp_path)
    by_name = {cls.__name__: cls for cls in CONFIGURABLES}
    for section, settings in config.items():
        cls = by_name[section]
        for key in settings:
            trait = cls.class_traits(config=True).get(key)
            assert trait is not None, f"c.{section}.{key} is not a configurable trait"
        try:
            cls(config=config)
        except TraitError as e:
            pytest.fail(f"c.{section}: {e}")


def test_generated_config_of_the_kubernetes_setup(render: Render, tmp_path: Path) -> None:
    values = VALUE_SETS["kubernetes-postgresql-ingress"]
    config = load_config(render, values, tmp_path)
    service = GraderService(config=config)
    assert service.service_host == "0.0.0.0"  # noqa: S104 - in a pod, behind a Service
    assert service.base_url_path == "/services/grader/"
    assert service.grader_service_dir == "/var/lib/grader-service"
    assert service.autograde_executor_class == "kubernetes"
    assert "db_url" not in config.GraderService  # from the Secret, as $GRADER_DB_URL
    assert ImagePolicy(config=config).allowed_images == ["registry.example.org/grading/*"]
    executor = KubeAutogradeExecutor(config=config)
    assert executor.namespace == "jhub"
    assert executor.instance_name == "grader"
    assert executor.claim_name == "grader-grader-service-data"
    assert executor.node_selector == {"pool": "grading"}
    assert executor.runtime_class_name == "gvisor"
    assert executor.resources["limits"]["memory"] == "1Gi"
    # the image file the chart writes is the format the executor reads
    assert executor.image_config_path == "/etc/grader-service/grading-images.json"
    executor.image_config_path = str(tmp_path / "grading-images.json")

    def image(lecture: str, assignment: str) -> str:
        task = GradingTask(1, "autograde", lecture, 1, assignment, 1, "bob", "0" * 40, 60)
        return asyncio.run(executor.get_image(task))

    assert image("ml", "a1") == "registry.example.org/grading/ml:2025"
    assert image("db", "SQL basics") == "registry.example.org/grading/pg:16"
    assert image("other", "a1") == "registry.example.org/grading/base:1.0"
    # no student code in the service pod: the feedback worker needs no sandbox
    assert Sandbox(config=config).mode == "none"


def test_generated_config_of_the_local_setup(render: Render, tmp_path: Path) -> None:
    config = load_config(render, VALUE_SETS["local-executor"], tmp_path)
    assert GraderService(config=config).load_roles == {
        "lect1": [{"role": "instructor", "members": ["alice"]}]
    }
    assert JupyterHubAuthenticator(config=config).admin_users == {"admin"}
    sandbox = Sandbox(config=config)
    assert sandbox.mode == "bwrap"
    assert sandbox.memory_limit == 1024**3
    assert KernelPool(config=config).size == 1
    assert LocalAutogradeExecutor(config=config).work_dir == "/srv/grading"


def test_extra_config_is_appended_in_key_order(render: Render, tmp_path: Path) -> None:
    config = load_config(
        render,
        {
            "extraConfig": {
                "20-second": "c.GradingScheduler.lease_duration = 90",
                "10-first": "c.GradingScheduler.lease_duration = 30\nc.KernelPool.size = 3",
            }
        },
        tmp_path,
    )
    assert config.GradingScheduler.lease_duration == 90
    assert config.KernelPool.size == 3
