"""Kubernetes manifests: typed resources with line numbers.

``parse_k8s(text, path)`` reads a (multi-document) YAML file and returns a :class:`Manifests`
holding workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod, Argo
Rollout), Services, Ingresses, HorizontalPodAutoscalers (v1/v2), PodDisruptionBudgets,
NetworkPolicies, ConfigMaps, Secrets (key names only, never values) and PersistentVolumeClaims.
``List`` kinds are unwrapped. Anything that is not a mapping with ``kind`` is skipped; a broken
document is a :class:`~qualscan.model.Diagnostic`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from qualscan.model import Diagnostic, Level
from qualscan.parsers.yamlsafe import LDict, LList, YamlDoc, as_dict, as_list, decode, get, load_documents

WORKLOAD_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod", "Rollout", "DeploymentConfig"}
)


@dataclass
class EnvVar:
    name: str
    value: str | None
    line: int
    config_map: tuple[str, str] | None = None  # (configmap name, key)
    secret: tuple[str, str] | None = None  # (secret name, key) -- value never read
    file: str = ""


@dataclass
class EnvFrom:
    kind: str  # configMap | secret
    name: str
    line: int


@dataclass
class Container:
    name: str
    line: int  # the ``- name:`` line (first line of the container item)
    image: str | None = None
    image_line: int = 0
    env: list[EnvVar] = field(default_factory=list)
    env_from: list[EnvFrom] = field(default_factory=list)
    readiness: bool = False
    liveness: bool = False
    startup: bool = False
    requests: dict[str, Any] = field(default_factory=dict)
    limits: dict[str, Any] = field(default_factory=dict)
    ports: list[int] = field(default_factory=list)
    init: bool = False
    file: str = ""


@dataclass
class Volume:
    name: str
    type: str  # emptyDir | persistentVolumeClaim | hostPath | configMap | secret | other
    line: int
    claim: str | None = None


@dataclass
class Workload:
    kind: str
    name: str
    file: str
    line: int  # the ``kind:`` line
    namespace: str = ""
    replicas: int | None = None  # None: absent (Kubernetes default 1)
    replicas_line: int = 0
    labels: dict[str, str] = field(default_factory=dict)  # pod template labels
    selector: dict[str, str] = field(default_factory=dict)
    containers: list[Container] = field(default_factory=list)
    volumes: list[Volume] = field(default_factory=list)
    claim_templates: list[str] = field(default_factory=list)
    anti_affinity: bool = False
    topology_spread: bool = False
    strategy: str | None = None
    source: str = "k8s"  # k8s | helm | kustomize | compose
    # compose only
    build_context: str | None = None
    container_name: str | None = None
    container_name_line: int = 0
    depends_on: list[tuple[str, int]] = field(default_factory=list)
    hostnames: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def effective_replicas(self) -> int:
        return 1 if self.replicas is None else self.replicas

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)

    @property
    def images(self) -> list[str]:
        return [c.image for c in self.containers if c.image and not c.init]

    def matches(self, selector: dict[str, str]) -> bool:
        return bool(selector) and all(self.labels.get(k) == str(v) for k, v in selector.items())


class LabelIndex:
    """Workloads by ``(label, value)``: what a selector matches without testing every workload.

    ``index.matching(sel)`` is ``[w for w in workloads if w.matches(sel)]``, in the same order, at
    the cost of the shortest candidate list of the selector's pairs (a scan of every workload per
    selector made Service/PDB/NetworkPolicy matching quadratic in the number of services). The
    index reads the labels when it is built: build it after the workloads are final."""

    def __init__(self, workloads: list[Workload]) -> None:
        self.workloads = workloads
        self._by_pair: dict[tuple[str, str], list[int]] = {}
        for i, w in enumerate(workloads):
            for pair in w.labels.items():
                self._by_pair.setdefault(pair, []).append(i)

    def matching(self, selector: dict[str, str]) -> list[Workload]:
        if not selector:
            return []
        shortest: list[int] | None = None
        for k, v in selector.items():
            found = self._by_pair.get((k, str(v)))
            if not found:
                return []
            if shortest is None or len(found) < len(shortest):
                shortest = found
        assert shortest is not None
        return [self.workloads[i] for i in shortest if self.workloads[i].matches(selector)]


@dataclass
class KService:
    name: str
    file: str
    line: int
    namespace: str = ""
    type: str = "ClusterIP"
    headless: bool = False
    selector: dict[str, str] = field(default_factory=dict)
    ports: list[tuple[str, int]] = field(default_factory=list)  # (port name, port)
    external_name: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return ("Service", self.namespace, self.name)


@dataclass
class IngressBackend:
    service: str
    port: Any
    line: int


@dataclass
class Ingress:
    name: str
    file: str
    line: int
    namespace: str = ""
    backends: list[IngressBackend] = field(default_factory=list)
    kind: str = "Ingress"

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)


@dataclass
class HPA:
    name: str
    file: str
    line: int
    namespace: str = ""
    target_kind: str = ""
    target_name: str = ""
    target_line: int = 0
    min_replicas: int = 1
    min_line: int = 0
    max_replicas: int | None = None
    max_line: int = 0

    @property
    def key(self) -> tuple[str, str, str]:
        return ("HorizontalPodAutoscaler", self.namespace, self.name)


@dataclass
class PDB:
    name: str
    file: str
    line: int
    namespace: str = ""
    selector: dict[str, str] = field(default_factory=dict)
    selector_line: int = 0
    min_available: int | str | None = None
    max_unavailable: int | str | None = None
    value_line: int = 0

    @property
    def key(self) -> tuple[str, str, str]:
        return ("PodDisruptionBudget", self.namespace, self.name)


@dataclass
class NetPeer:
    labels: dict[str, str]
    line: int
    ports: list[Any] = field(default_factory=list)


@dataclass
class NetworkPolicy:
    name: str
    file: str
    line: int
    namespace: str = ""
    pod_selector: dict[str, str] = field(default_factory=dict)
    selector_line: int = 0
    ingress: list[NetPeer] = field(default_factory=list)
    egress: list[NetPeer] = field(default_factory=list)
    selects_all: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        return ("NetworkPolicy", self.namespace, self.name)


@dataclass
class ConfigMap:
    name: str
    file: str
    line: int
    namespace: str = ""
    data: dict[str, str] = field(default_factory=dict)
    key_lines: dict[str, int] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return ("ConfigMap", self.namespace, self.name)


@dataclass
class NamedResource:
    """Secret (key names only) or PersistentVolumeClaim."""

    kind: str
    name: str
    file: str
    line: int
    namespace: str = ""
    keys: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)


@dataclass
class Manifests:
    workloads: list[Workload] = field(default_factory=list)
    services: list[KService] = field(default_factory=list)
    ingresses: list[Ingress] = field(default_factory=list)
    hpas: list[HPA] = field(default_factory=list)
    pdbs: list[PDB] = field(default_factory=list)
    network_policies: list[NetworkPolicy] = field(default_factory=list)
    config_maps: list[ConfigMap] = field(default_factory=list)
    secrets: list[NamedResource] = field(default_factory=list)
    pvcs: list[NamedResource] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def extend(self, other: Manifests) -> None:
        for name in (
            "workloads",
            "services",
            "ingresses",
            "hpas",
            "pdbs",
            "network_policies",
            "config_maps",
            "secrets",
            "pvcs",
            "diagnostics",
        ):
            getattr(self, name).extend(getattr(other, name))

    def all_resources(self) -> list[Any]:
        return [
            *self.workloads,
            *self.services,
            *self.ingresses,
            *self.hpas,
            *self.pdbs,
            *self.network_policies,
            *self.config_maps,
            *self.secrets,
            *self.pvcs,
        ]


# --- helpers -------------------------------------------------------------------------------------


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _labels(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if v is not None and not isinstance(v, (dict, list))}


def _selector(sel: Any) -> dict[str, str]:
    """matchLabels plus single-value ``In`` expressions."""
    if not isinstance(sel, dict):
        return {}
    out = _labels(sel.get("matchLabels"))
    for expr in as_list(sel.get("matchExpressions")):
        if isinstance(expr, dict) and expr.get("operator") == "In":
            values = as_list(expr.get("values"))
            if len(values) == 1 and expr.get("key"):
                out[str(expr["key"])] = str(values[0])
    return out


def _str(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_container(item: Any, path: str, *, init: bool = False) -> Container | None:
    if not isinstance(item, dict):
        return None
    c = as_dict(item)
    name = _str(c.get("name")) or "container"
    cont = Container(name=name, line=c.line or 1, init=init, file=path)
    cont.image = _str(c.get("image"))
    cont.image_line = c.line_of("image", c.line)
    for i, env in enumerate(as_list(c.get("env"))):
        if not isinstance(env, dict):
            continue
        envd = as_dict(env)
        env_line = as_list(c.get("env")).line_of(i) if isinstance(c.get("env"), LList) else envd.line
        var = EnvVar(name=_str(envd.get("name")) or "", value=_str(envd.get("value")), line=env_line, file=path)
        if "value" in envd:
            var.line = envd.line_of("value", env_line)
        ref = get(envd, "valueFrom", "configMapKeyRef")
        if isinstance(ref, dict):
            var.config_map = (_str(ref.get("name")) or "", _str(ref.get("key")) or "")
        sref = get(envd, "valueFrom", "secretKeyRef")
        if isinstance(sref, dict):
            var.secret = (_str(sref.get("name")) or "", _str(sref.get("key")) or "")
        cont.env.append(var)
    env_from = as_list(c.get("envFrom"))
    for i, ef in enumerate(env_from):
        if not isinstance(ef, dict):
            continue
        for kind in ("configMapRef", "secretRef"):
            ref = ef.get(kind)
            if isinstance(ref, dict) and ref.get("name"):
                cont.env_from.append(
                    EnvFrom("configMap" if kind == "configMapRef" else "secret", str(ref["name"]), env_from.line_of(i))
                )
    cont.readiness = isinstance(c.get("readinessProbe"), dict)
    cont.liveness = isinstance(c.get("livenessProbe"), dict)
    cont.startup = isinstance(c.get("startupProbe"), dict)
    res = c.get("resources")
    if isinstance(res, dict):
        if isinstance(res.get("requests"), dict):
            cont.requests = dict(res["requests"])
        if isinstance(res.get("limits"), dict):
            cont.limits = dict(res["limits"])
    for port in as_list(c.get("ports")):
        if isinstance(port, dict):
            p = _int(port.get("containerPort"))
            if p is not None:
                cont.ports.append(p)
    return cont


def _pod_spec(kind: str, spec: Any) -> Any:
    if kind == "CronJob":
        return get(spec, "jobTemplate", "spec", "template", "spec")
    if kind == "Pod":
        return spec
    return get(spec, "template", "spec")


def _pod_labels(kind: str, doc: Any) -> dict[str, str]:
    if kind == "Pod":
        return _labels(get(doc, "metadata", "labels"))
    if kind == "CronJob":
        return _labels(get(doc, "spec", "jobTemplate", "spec", "template", "metadata", "labels"))
    return _labels(get(doc, "spec", "template", "metadata", "labels"))


def parse_workload(doc: LDict, path: str, source: str) -> Workload:
    kind = str(doc.get("kind"))
    meta = as_dict(doc.get("metadata"))
    spec = as_dict(doc.get("spec"))
    wl = Workload(
        kind=kind,
        name=_str(meta.get("name")) or "",
        file=path,
        line=doc.line_of("kind", doc.line),
        namespace=_str(meta.get("namespace")) or "",
        source=source,
    )
    if kind in ("Deployment", "StatefulSet", "ReplicaSet", "Rollout", "DeploymentConfig"):
        if "replicas" in spec:
            wl.replicas = _int(spec.get("replicas"))
            wl.replicas_line = spec.line_of("replicas")
            if wl.replicas is None:  # unresolved template value: count as absent but keep the line
                wl.extra["replicas_unresolved"] = _str(spec.get("replicas"))
    elif kind in ("DaemonSet",):
        wl.replicas = None
        wl.extra["per_node"] = True
    wl.labels = _pod_labels(kind, doc)
    wl.selector = _selector(spec.get("selector")) if kind != "Pod" else dict(wl.labels)
    if not wl.labels:
        wl.labels = dict(wl.selector)
    strategy = spec.get("strategy") or spec.get("updateStrategy")
    if isinstance(strategy, dict):
        wl.strategy = _str(strategy.get("type"))
    pod = as_dict(_pod_spec(kind, spec))
    for key, init in (("containers", False), ("initContainers", True)):
        for item in as_list(pod.get(key)):
            cont = parse_container(item, path, init=init)
            if cont is not None:
                wl.containers.append(cont)
    for item in as_list(pod.get("volumes")):
        if not isinstance(item, dict):
            continue
        vol = as_dict(item)
        vtype = "other"
        claim = None
        for candidate in ("emptyDir", "persistentVolumeClaim", "hostPath", "configMap", "secret", "ephemeral"):
            if candidate in vol:
                vtype = candidate
                break
        if vtype == "persistentVolumeClaim":
            claim = _str(get(vol, "persistentVolumeClaim", "claimName"))
        line = vol.line_of(vtype, vol.line) if vtype != "other" else vol.line
        wl.volumes.append(Volume(_str(vol.get("name")) or "", vtype, line, claim))
    for tmpl in as_list(spec.get("volumeClaimTemplates")):
        name = _str(get(tmpl, "metadata", "name"))
        if name:
            wl.claim_templates.append(name)
    affinity = pod.get("affinity")
    if isinstance(affinity, dict) and isinstance(affinity.get("podAntiAffinity"), dict):
        wl.anti_affinity = bool(affinity["podAntiAffinity"])
    wl.topology_spread = bool(as_list(pod.get("topologySpreadConstraints")))
    return wl


def _service(doc: LDict, path: str) -> KService:
    meta = as_dict(doc.get("metadata"))
    spec = as_dict(doc.get("spec"))
    svc = KService(
        name=_str(meta.get("name")) or "",
        file=path,
        line=doc.line_of("kind", doc.line),
        namespace=_str(meta.get("namespace")) or "",
        type=_str(spec.get("type")) or "ClusterIP",
        selector=_labels(spec.get("selector")),
        external_name=_str(spec.get("externalName")),
    )
    svc.headless = _str(spec.get("clusterIP")) == "None"
    for port in as_list(spec.get("ports")):
        if isinstance(port, dict):
            p = _int(port.get("port"))
            if p is not None:
                svc.ports.append((_str(port.get("name")) or "", p))
    return svc


def _ingress(doc: LDict, path: str) -> Ingress:
    meta = as_dict(doc.get("metadata"))
    spec = as_dict(doc.get("spec"))
    ing = Ingress(
        name=_str(meta.get("name")) or "",
        file=path,
        line=doc.line_of("kind", doc.line),
        namespace=_str(meta.get("namespace")) or "",
    )

    def backend(b: Any) -> None:
        if not isinstance(b, dict):
            return
        b = as_dict(b)
        svc = b.get("service")
        if isinstance(svc, dict):  # networking.k8s.io/v1
            name = _str(svc.get("name"))
            port = get(svc, "port", "number") or get(svc, "port", "name")
            line = as_dict(svc).line_of("name", b.line)
        else:  # extensions/v1beta1
            name = _str(b.get("serviceName"))
            port = b.get("servicePort")
            line = b.line_of("serviceName", b.line)
        if name:
            ing.backends.append(IngressBackend(name, port, line))

    backend(spec.get("defaultBackend") or spec.get("backend"))
    for rule in as_list(spec.get("rules")):
        for p in as_list(get(rule, "http", "paths")):
            backend(get(p, "backend"))
    return ing


def _hpa(doc: LDict, path: str) -> HPA:
    meta = as_dict(doc.get("metadata"))
    spec = as_dict(doc.get("spec"))
    ref = as_dict(spec.get("scaleTargetRef"))
    return HPA(
        name=_str(meta.get("name")) or "",
        file=path,
        line=doc.line_of("kind", doc.line),
        namespace=_str(meta.get("namespace")) or "",
        target_kind=_str(ref.get("kind")) or "",
        target_name=_str(ref.get("name")) or "",
        target_line=ref.line_of("name", spec.line_of("scaleTargetRef")),
        min_replicas=_int(spec.get("minReplicas")) or 1,
        min_line=spec.line_of("minReplicas"),
        max_replicas=_int(spec.get("maxReplicas")),
        max_line=spec.line_of("maxReplicas"),
    )


def _pdb(doc: LDict, path: str) -> PDB:
    meta = as_dict(doc.get("metadata"))
    spec = as_dict(doc.get("spec"))
    pdb = PDB(
        name=_str(meta.get("name")) or "",
        file=path,
        line=doc.line_of("kind", doc.line),
        namespace=_str(meta.get("namespace")) or "",
        selector=_selector(spec.get("selector")),
        selector_line=spec.line_of("selector"),
    )
    for key in ("minAvailable", "maxUnavailable"):
        if key in spec:
            raw = spec.get(key)
            value: int | str | None = _int(raw)
            if value is None and raw is not None:
                value = str(raw)
            if key == "minAvailable":
                pdb.min_available = value
            else:
                pdb.max_unavailable = value
            pdb.value_line = spec.line_of(key)
    return pdb


def _peers(rules: Any, direction: str) -> list[NetPeer]:
    peers: list[NetPeer] = []
    for rule in as_list(rules):
        if not isinstance(rule, dict):
            continue
        ports = [get(p, "port") for p in as_list(rule.get("ports"))]
        items = as_list(rule.get(direction))
        for i, peer in enumerate(items):
            sel = get(peer, "podSelector")
            if isinstance(sel, dict):
                peers.append(NetPeer(_selector(sel), items.line_of(i), ports))
    return peers


def _netpol(doc: LDict, path: str) -> NetworkPolicy:
    meta = as_dict(doc.get("metadata"))
    spec = as_dict(doc.get("spec"))
    sel = spec.get("podSelector")
    pol = NetworkPolicy(
        name=_str(meta.get("name")) or "",
        file=path,
        line=doc.line_of("kind", doc.line),
        namespace=_str(meta.get("namespace")) or "",
        pod_selector=_selector(sel),
        selector_line=spec.line_of("podSelector"),
    )
    pol.selects_all = not pol.pod_selector
    pol.ingress = _peers(spec.get("ingress"), "from")
    pol.egress = _peers(spec.get("egress"), "to")
    return pol


def _configmap(doc: LDict, path: str) -> ConfigMap:
    meta = as_dict(doc.get("metadata"))
    data = as_dict(doc.get("data"))
    return ConfigMap(
        name=_str(meta.get("name")) or "",
        file=path,
        line=doc.line_of("kind", doc.line),
        namespace=_str(meta.get("namespace")) or "",
        data={str(k): v for k, v in ((k, _str(v)) for k, v in data.items()) if v is not None},
        key_lines={str(k): data.line_of(k) for k in data},
    )


def _named(doc: LDict, path: str, kind: str) -> NamedResource:
    meta = as_dict(doc.get("metadata"))
    keys: list[str] = []
    if kind == "Secret":  # names only: values are never read, stored or printed
        for section in ("data", "stringData"):
            if isinstance(doc.get(section), dict):
                keys.extend(str(k) for k in doc[section])
    return NamedResource(
        kind,
        _str(meta.get("name")) or "",
        path,
        doc.line_of("kind", doc.line),
        _str(meta.get("namespace")) or "",
        sorted(keys),
    )


def add_resource(out: Manifests, doc: Any, path: str, source: str) -> None:
    """Add one parsed document (or ``List``) to ``out``."""
    if not isinstance(doc, LDict):
        return
    kind = doc.get("kind")
    if not isinstance(kind, str):
        return
    if kind.endswith("List") and isinstance(doc.get("items"), list):
        for item in doc["items"]:
            add_resource(out, item, path, source)
        return
    try:
        if kind in WORKLOAD_KINDS:
            out.workloads.append(parse_workload(doc, path, source))
        elif kind == "Service":
            out.services.append(_service(doc, path))
        elif kind == "Ingress":
            out.ingresses.append(_ingress(doc, path))
        elif kind == "HorizontalPodAutoscaler":
            out.hpas.append(_hpa(doc, path))
        elif kind == "PodDisruptionBudget":
            out.pdbs.append(_pdb(doc, path))
        elif kind == "NetworkPolicy":
            out.network_policies.append(_netpol(doc, path))
        elif kind == "ConfigMap":
            out.config_maps.append(_configmap(doc, path))
        elif kind in ("Secret", "PersistentVolumeClaim"):
            target = out.secrets if kind == "Secret" else out.pvcs
            target.append(_named(doc, path, kind))
    except (TypeError, ValueError, AttributeError) as exc:  # malformed resource: diagnose, continue
        out.diagnostics.append(
            Diagnostic(path, doc.line or 1, Level.WARNING, f"{kind} not understood: {exc}")
        )


def parse_documents(docs: list[YamlDoc], path: str, source: str = "k8s") -> Manifests:
    out = Manifests()
    for doc in docs:
        add_resource(out, doc.data, path, source)
    return out


def parse_k8s(data: bytes | str, path: str, source: str = "k8s") -> Manifests:
    """Parse a Kubernetes YAML file (bytes or text)."""
    docs, diags = load_documents(decode(data), path)
    out = parse_documents(docs, path, source)
    out.diagnostics[:0] = diags
    return out


def looks_like_k8s(text: str) -> bool:
    return "kind:" in text and ("apiVersion" in text or re.search(r"^kind:", text, re.M) is not None)
