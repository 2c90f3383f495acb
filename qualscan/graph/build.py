"""Build the service dependency graph from the deployment model and per-file facts.

Nodes: discovered services (linked to their workloads by compose build context, skaffold
artifacts, image name or normalised name), manifest-only workloads, datastores, brokers, gateways
(Ingresses, edge proxies) and external endpoints (third-party URLs). Edges carry a protocol, a
sync/async flag and evidence (file:line), found from env values, Python facts, a
language-agnostic scan of other sources, NetworkPolicy ingress rules, Ingress backends and
gateway configs (nginx, Envoy). Compose ``depends_on`` is start-up order, kept apart.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from qualscan.config import Config
from qualscan.graph.deployment import DeploymentModel, build_deployment, wkey
from qualscan.graph.facts import HOSTPORT_RE, scan_text
from qualscan.model import Diagnostic, Evidence, FileKind, NodeKind, Service, SourceFile
from qualscan.parsers import aspire as aspire_p
from qualscan.parsers import helm as helm_p
from qualscan.parsers.k8s import Workload, looks_like_k8s
from qualscan.parsers.kustomize import split_image
from qualscan.parsers.yamlsafe import decode

# image / name fragments -> (kind, protocol, tier)
DATASTORES: dict[str, tuple[str, str]] = {
    "postgres": ("sql", "data"),
    "postgis": ("sql", "data"),
    "timescale": ("sql", "data"),
    "mysql": ("sql", "data"),
    "mariadb": ("sql", "data"),
    "cockroach": ("sql", "data"),
    "mssql": ("sql", "data"),
    "sqlserver": ("sql", "data"),
    "oracle": ("sql", "data"),
    "alloydb": ("sql", "data"),
    "spanner": ("sql", "data"),
    "mongo": ("mongo", "data"),
    "redis": ("redis", "middleware"),
    "valkey": ("redis", "middleware"),
    "keydb": ("redis", "middleware"),
    "dragonfly": ("redis", "middleware"),
    "memcache": ("memcached", "middleware"),
    "elasticsearch": ("http", "data"),
    "opensearch": ("http", "data"),
    "cassandra": ("cql", "data"),
    "scylla": ("cql", "data"),
    "couchbase": ("http", "data"),
    "couchdb": ("http", "data"),
    "dynamodb": ("http", "data"),
    "neo4j": ("bolt", "data"),
    "clickhouse": ("sql", "data"),
    "influxdb": ("http", "data"),
    "minio": ("http", "data"),
    "solr": ("http", "data"),
    "etcd": ("grpc", "data"),
}
BROKERS: dict[str, str] = {
    "kafka": "kafka",
    "redpanda": "kafka",
    "rabbitmq": "amqp",
    "activemq": "amqp",
    "artemis": "amqp",
    "nats": "nats",
    "pulsar": "pulsar",
    "nsq": "nsq",
    "mosquitto": "mqtt",
    "emqx": "mqtt",
    "zookeeper": "zookeeper",
}
GATEWAYS = ("nginx", "envoy", "traefik", "haproxy", "kong", "apisix", "caddy", "istio-ingressgateway")
GATEWAY_NAMES = re.compile(r"(^|[-_])(gateway|apigateway|api-gateway|edge-router|edgerouter|proxy|ingress|bff)($|[-_])")
SCHEMES = {
    "http": "http",
    "https": "http",
    "ws": "http",
    "wss": "http",
    "grpc": "grpc",
    "grpcs": "grpc",
    "dns": "grpc",
    "mongodb": "mongo",
    "mongodb+srv": "mongo",
    "redis": "redis",
    "rediss": "redis",
    "valkey": "redis",
    "postgres": "sql",
    "postgresql": "sql",
    "postgresql+psycopg2": "sql",
    "postgresql+asyncpg": "sql",
    "postgresql+psycopg": "sql",
    "mysql": "sql",
    "mysql+pymysql": "sql",
    "mariadb": "sql",
    "jdbc:mysql": "sql",
    "jdbc:postgresql": "sql",
    "jdbc:mariadb": "sql",
    "jdbc:sqlserver": "sql",
    "sqlserver": "sql",
    "amqp": "amqp",
    "amqps": "amqp",
    "kafka": "kafka",
    "nats": "nats",
    "memcached": "memcached",
    "cassandra": "cql",
    "bolt": "bolt",
    "neo4j": "bolt",
    "pulsar": "pulsar",
    "tcp": "tcp",
    "mqtt": "mqtt",
}
PORTS = {
    5432: "sql",
    3306: "sql",
    1433: "sql",
    26257: "sql",
    6379: "redis",
    27017: "mongo",
    9092: "kafka",
    29092: "kafka",
    5672: "amqp",
    4222: "nats",
    11211: "memcached",
    9042: "cql",
    9200: "http",
    7687: "bolt",
    6650: "pulsar",
    1883: "mqtt",
}
ASYNC_PROTOCOLS = {"kafka", "amqp", "nats", "pulsar", "mqtt", "nsq", "sqs", "sns", "pubsub"}
HOST_ENV = re.compile(r"(HOST|ADDR|ADDRESS|SERVICE|SERVER|URL|URI|ENDPOINT|HOSTNAME|BROKER|DSN|BOOTSTRAP|SOURCE)S?$", re.I)
NOT_EXTERNAL = re.compile(
    r"(^|\.)(example\.(com|org|net)|localhost|local|internal|svc|cluster\.local|w3\.org|schema\.org|github\.com|"
    r"githubusercontent\.com|apache\.org|mozilla\.org|json-schema\.org|xml\.org|xmlsoap\.org|openxmlformats\.org|"
    r"purl\.org|opensource\.org|gnu\.org|creativecommons\.org|readthedocs\.io|python\.org|npmjs\.(com|org)|"
    r"golang\.org|microsoft\.com|docker\.(io|com)|gcr\.io|ghcr\.io|quay\.io|k8s\.io|kubernetes\.io|"
    r"opentelemetry\.io|jaegertracing\.io|prometheus\.io|grafana\.(com|net)|sentry\.io|fonts\.googleapis\.com|"
    r"fonts\.gstatic\.com|cdn\.jsdelivr\.net|cdnjs\.cloudflare\.com|unpkg\.com|wikipedia\.org|yourdomain\.com)$"
)


_VARREF = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}|\$\((\w+)\)")


OBSERVABILITY = re.compile(
    r"otel|opentelemetry|jaeger|zipkin|prometheus|grafana|loki|tempo|fluent|logstash|kibana|datadog|newrelic|"
    r"opamp|alertmanager|pyroscope|apm-server|statsd|telegraf|victoriametrics|signoz|node-exporter|kube-state-metrics|"
    r"cadvisor|heapster|promtail|vector|filebeat|metricbeat|seq$|(^|[-_])logs?([-_]|$)|logging|log-?server"
)
TELEMETRY_ENV = re.compile(r"^(OTEL_|OTLP|JAEGER|ZIPKIN|SENTRY|STATSD|DD_|NEW_RELIC|PROMETHEUS|PYROSCOPE)|TRACING|TELEMETRY|COLLECTOR", re.I)


def normalize(name: str) -> str:
    """``cartservice``, ``cart-service``, ``Cart_Service``, ``cart`` -> ``cart``."""
    n = re.sub(r"[^a-z0-9]", "", name.lower())
    for suffix in ("service", "svc", "server", "srv", "app", "api"):
        if n.endswith(suffix) and len(n) > len(suffix) + 1:
            n = n[: -len(suffix)]
            break
    if len(n) > 4 and n.endswith("s") and not n.endswith("ss"):
        n = n[:-1]  # carts -> cart, orders -> order
    return n


def classify_image(text: str) -> tuple[NodeKind, str, str] | None:
    """(kind, protocol, tier) from an image or workload name."""
    t = text.lower()
    for frag, proto in BROKERS.items():
        if frag in t:
            return NodeKind.BROKER, proto, "middleware"
    for frag, (proto, tier) in DATASTORES.items():
        if frag in t:
            return NodeKind.DATASTORE, proto, tier
    return None


@dataclass
class Node:
    name: str
    kind: NodeKind = NodeKind.SERVICE
    path: str | None = None
    languages: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()
    workloads: list[Workload] = field(default_factory=list)
    aliases: set[str] = field(default_factory=set)
    images: list[str] = field(default_factory=list)
    tier: str = "application"
    protocol: str | None = None  # default protocol of the node (datastores, brokers)
    ports: dict[int, str] = field(default_factory=dict)  # port -> port name (k8s Services)
    entry: bool = False
    discovered: bool = False
    attrs: dict[str, Any] = field(default_factory=dict)
    env: dict[str, tuple[str, str, int]] = field(default_factory=dict)  # NAME -> (value, file, line)
    location: tuple[str, int] | None = None

    @property
    def primary_workloads(self) -> list[Workload]:
        """k8s/helm/kustomize workloads when there are any, else compose ones."""
        k8s = [w for w in self.workloads if w.source != "compose"]
        return k8s or [w for w in self.workloads if w.source == "compose"]


@dataclass
class RawEdge:
    source: str
    target: str
    protocol: str
    evidence: Evidence
    explicit_protocol: bool = False
    topic: str | None = None


class Builder:
    def __init__(
        self,
        *,
        root_name: str,
        config: Config,
        services: Sequence[Service],
        files: Sequence[SourceFile],
        texts: Mapping[str, bytes],
        python_facts: Mapping[str, dict[str, Any]],
    ) -> None:
        self.root_name = root_name
        self.config = config
        self.services = services
        self.files = files
        self.texts = texts
        self.python_facts = python_facts
        self.nodes: dict[str, Node] = {}
        self.alias: dict[str, str] = {}
        self.norm_alias: dict[str, set[str]] = {}
        self.raw: list[RawEdge] = []
        self.diagnostics: list[Diagnostic] = []
        self.dm: DeploymentModel = DeploymentModel()
        self.other_facts: dict[str, dict[str, Any]] = {}
        self._owner_cache: dict[str, str | None] = {}

    # -- nodes ---------------------------------------------------------------------------------
    def add_alias(self, alias: str, node: str) -> None:
        a = alias.lower().strip()
        if not a or helm_p.UNRESOLVED_TEXT.lower() in a:
            return
        self.alias.setdefault(a, node)
        self.nodes[node].aliases.add(a)
        self.norm_alias.setdefault(normalize(a), set()).add(node)

    def node(self, name: str, **kwargs: Any) -> Node:
        if name not in self.nodes:
            self.nodes[name] = Node(name=name, **kwargs)
            self.add_alias(name, name)
            if kwargs.get("path") is not None:
                self._owner_cache.clear()
        return self.nodes[name]

    def lookup(self, host: str) -> str | None:
        h = host.lower().strip().rstrip(".")
        if not h:
            return None
        if h in self.alias:
            return self.alias[h]
        if "." in h:
            first = h.split(".", 1)[0]
            rest = h.split(".", 1)[1]
            if (rest.endswith(("svc.cluster.local", "svc", "cluster.local")) or rest.count(".") == 0) and first in self.alias:
                return self.alias[first]
        cands = self.norm_alias.get(normalize(h))
        if cands and len(cands) == 1:
            return next(iter(cands))
        return None

    def build_nodes(self) -> None:
        by_path: dict[str, str] = {}
        for s in self.services:
            n = self.node(
                s.name,
                kind=s.kind,
                path=s.path,
                languages=tuple(s.languages),
                markers=tuple(s.markers),
                discovered=True,
            )
            n.attrs.update(dict(s.attrs))
            if s.path is not None:
                by_path[s.path] = s.name
        norm_services: dict[str, str] = {}
        for s in self.services:
            norm_services.setdefault(normalize(s.name), s.name)
        image_ctx = self.dm.skaffold_images

        def owner_of_dir(d: str | None) -> str | None:
            if d is None:
                return None
            if d in by_path:
                return by_path[d]
            best = None
            for p, name in by_path.items():
                if p and (d.startswith(p + "/")) and (best is None or len(p) > len(best[0])):
                    best = (p, name)
            return best[1] if best else None

        workloads = sorted(self.dm.workloads, key=lambda w: (w.source == "compose", w.file, w.line))
        # strong links first: a compose build context names the source directory of that name
        built: dict[str, str] = {}
        for wl in workloads:
            if wl.build_context is not None:
                owner = owner_of_dir(wl.build_context)
                if owner:
                    built.setdefault(wl.name, owner)
        for wl in workloads:
            if not wl.name or helm_p.UNRESOLVED_TEXT in wl.name:
                continue
            target: str | None = None
            if wl.build_context is not None:
                target = owner_of_dir(wl.build_context)
            if not target:
                target = built.get(wl.name)
            for img in wl.images:
                if target:
                    break
                base, _tag = split_image(img)
                for key in (img, base, base.rsplit("/", 1)[-1]):
                    if key in image_ctx:
                        target = owner_of_dir(image_ctx[key])
                        if target:
                            break
                if not target:
                    last = base.rsplit("/", 1)[-1]
                    for cand in (last, re.sub(r"^[a-z]{1,4}-", "", last)):
                        if normalize(cand) in norm_services and normalize(cand) == normalize(wl.name):
                            target = norm_services[normalize(cand)]
                            break
            if not target:
                target = norm_services.get(normalize(wl.name))
            if not target:
                existing = self.lookup(wl.name)
                target = existing if existing and not self.nodes[existing].discovered else None
            if not target:
                target = wl.name
                self.node(target)
            n = self.nodes[target]
            n.workloads.append(wl)
            self.dm.node_of[wkey(wl)] = target
            self.add_alias(wl.name, target)
            for h in wl.hostnames:
                self.add_alias(h, target)
            for img in wl.images:
                n.images.append(img)
        # k8s Services -> nodes by selector
        for svc in self.dm.services:
            matched = {
                self.dm.node_of[wkey(w)]
                for w in self.dm.k8s_workloads_matching(svc.selector)
                if wkey(w) in self.dm.node_of
            }
            if not matched and svc.name.lower() in self.alias:
                matched = {self.alias[svc.name.lower()]}
            for name in sorted(matched)[:1]:
                self.add_alias(svc.name, name)
                for pname, port in svc.ports:
                    self.nodes[name].ports[port] = pname
                if svc.type in ("LoadBalancer", "NodePort"):
                    self.nodes[name].entry = True
        # config: aliases, kinds, tiers, ignores
        for name, opts in self.config.services.items():
            if name not in self.nodes:
                continue
            for a in opts.get("aliases", ()):
                self.add_alias(a, name)
        # kinds from images, Dockerfile FROM and names
        for n in self.nodes.values():
            opts = self.config.services.get(n.name, {})
            hints = list(n.images)
            if n.path is not None:
                df = self.dm.dockerfiles.get(n.path)
                if df:
                    hints.extend(img for img, _ in df.base_images[-1:])
            for w in n.workloads:
                if w.build_context is not None and w.build_context in self.dm.dockerfiles:
                    hints.extend(img for img, _ in self.dm.dockerfiles[w.build_context].base_images[-1:])
            cls = None
            for h in hints:
                base = split_image(h)[0].rsplit("/", 1)[-1]
                cls = classify_image(base)
                if cls:
                    break
            if cls is None and not (n.discovered and n.languages):
                cls = classify_image(n.name)
                if cls is None and re.search(r"(^|[-_])(db|database|datastore|store)$", n.name.lower()):
                    cls = (NodeKind.DATASTORE, "tcp", "data")
            if cls:
                n.kind, n.protocol, n.tier = cls
            elif any(g in split_image(h)[0].rsplit("/", 1)[-1].lower() for h in hints for g in GATEWAYS) or GATEWAY_NAMES.search(n.name.lower()):
                n.kind, n.tier = NodeKind.GATEWAY, "gateway"
            if n.entry and n.kind in (NodeKind.SERVICE, NodeKind.GATEWAY):
                n.tier = "edge" if n.kind is NodeKind.GATEWAY else n.tier
            if "kind" in opts:
                n.kind = NodeKind(opts["kind"])
                n.tier = {"datastore": "data", "broker": "middleware", "gateway": "gateway"}.get(opts["kind"], n.tier)
            if "tier" in opts:
                n.tier = opts["tier"]
            if n.workloads:
                wl = n.primary_workloads[0]
                n.location = (wl.file, wl.line)
        for n in self.nodes.values():
            words = [n.name, *(split_image(i)[0].rsplit("/", 1)[-1] for i in n.images)]
            if n.kind is NodeKind.SERVICE and any(OBSERVABILITY.search(w.lower()) for w in words):
                n.attrs["observability"] = True
        for ing in self.dm.ingresses:
            name = f"ingress/{ing.name}"
            n = self.node(name, kind=NodeKind.GATEWAY, tier="edge", entry=True)
            n.location = (ing.file, ing.line)
        for name in [n for n, o in self.config.services.items() if o.get("ignore") and n in self.nodes]:
            del self.nodes[name]
            self.alias = {a: t for a, t in self.alias.items() if t != name}

    # -- env -----------------------------------------------------------------------------------
    def collect_env(self) -> None:
        cms = {c.name: c for c in self.dm.config_maps}
        for n in self.nodes.values():
            dirs = [n.path] if n.path is not None else []
            dirs += [w.build_context for w in n.workloads if w.build_context is not None]
            for d in dirs:
                df = self.dm.dockerfiles.get(d or "")
                if df:
                    for k, (v, line) in df.env.items():
                        n.env.setdefault(k, (v, df.path, line))
            # manifests override Dockerfile defaults
            for wl in n.workloads:
                for c in wl.containers:
                    for ef in c.env_from:
                        cm = cms.get(ef.name) if ef.kind == "configMap" else None
                        if cm:
                            for k, v in cm.data.items():
                                n.env[k] = (v, cm.file, cm.key_lines.get(k, cm.line))
                    for e in c.env:
                        if e.value is not None:
                            n.env[e.name] = (e.value, e.file or wl.file, e.line)
                        elif e.config_map:
                            cm = cms.get(e.config_map[0])
                            if cm and e.config_map[1] in cm.data:
                                key = e.config_map[1]
                                n.env[e.name] = (cm.data[key], cm.file, cm.key_lines.get(key, cm.line))

    # -- resolution ----------------------------------------------------------------------------
    def substitute(self, value: str, env: Mapping[str, tuple[str, str, int]]) -> str:
        """Expand ``${NAME}``, ``${NAME:-default}`` and ``$(NAME)`` from a node's environment."""

        def repl(m: re.Match[str]) -> str:
            name = m.group(1) or m.group(3)
            if name in env:
                return env[name][0]
            default = m.group(2)
            return default if default is not None else m.group(0)

        for _ in range(3):
            new = _VARREF.sub(repl, value)
            if new == value:
                break
            value = new
        return value

    def resolve(
        self, value: str, *, env_name: str = "", allow_external: bool = False, allow_bare: bool = False
    ) -> list[tuple[str, str | None, int | None]]:
        """Targets named by a value: [(node, protocol from scheme/port or None, port)]."""
        out: list[tuple[str, str | None, int | None]] = []
        value = value.strip().strip("\"'")
        if not value or len(value) > 500 or "${" in value or "{?}" in value.split("://", 1)[-1].split("/", 1)[0]:
            return out
        candidates: list[tuple[str | None, str, int | None]] = []  # (scheme, host, port)
        for part in re.split(r"[,;\s]+", value):
            if not part:
                continue
            scheme = None
            p = part
            if p.startswith("jdbc:"):
                p = p[5:]
                scheme_hint = "jdbc:" + p.split("://", 1)[0] if "://" in p else None
            else:
                scheme_hint = None
            if "://" in p:
                try:
                    u = urlsplit(p)
                    host, port = u.hostname or "", u.port
                except ValueError:
                    continue
                scheme = scheme_hint or u.scheme.lower()
                candidates.append((scheme, host, port))
            elif HOSTPORT_RE.match(p):
                host, _, rest = p.partition(":")
                port_s = re.match(r"\d+", rest)
                candidates.append((None, host, int(port_s.group(0)) if port_s else None))
            elif allow_bare and re.match(r"^[a-zA-Z][a-zA-Z0-9_.-]*$", p) and (not env_name or HOST_ENV.search(env_name)):
                candidates.append((None, p, None))
        for scheme, host, port in candidates:
            if not host or host in ("localhost", "0.0.0.0", "127.0.0.1", "::1") or host.startswith("{"):
                continue
            node = self.lookup(host)
            proto: str | None = None
            if scheme:
                proto = SCHEMES.get(scheme, SCHEMES.get(scheme.split("+", 1)[0]))
            if proto is None and port in PORTS:
                proto = PORTS[port]
            if node is None and allow_external and _is_external(host):
                node = self.external(host)
            if node is not None:
                out.append((node, proto, port))
        return out

    def external(self, host: str) -> str:
        h = host.lower()
        if h.startswith("www."):
            h = h[4:]
        if h not in self.nodes:
            self.node(h, kind=NodeKind.EXTERNAL, tier="application")
        return h

    def protocol_for(self, target: str, proto: str | None, port: int | None, env_name: str = "") -> tuple[str, bool]:
        n = self.nodes[target]
        if proto and proto not in ("http", "tcp"):
            return proto, True
        if n.protocol and n.kind in (NodeKind.DATASTORE, NodeKind.BROKER):
            return n.protocol, True
        if port is not None and "grpc" in n.ports.get(port, "").lower():
            return "grpc", True
        if "GRPC" in env_name.upper():
            return "grpc", True
        if n.attrs.get("serves_grpc") and not re.search(r"URL|URI|HTTP|ENDPOINT", env_name.upper()) and proto is None:
            return "grpc", False  # host:port to a service whose code runs a gRPC server
        if proto:
            return proto, True
        if n.ports and all("grpc" in pn.lower() for pn in n.ports.values() if pn) and any(n.ports.values()):
            return "grpc", False
        return "http", False

    def add(
        self, source: str, target: str, proto: str | None, port: int | None, ev: Evidence, env_name: str = "", topic: str | None = None
    ) -> None:
        if source == target or source not in self.nodes or target not in self.nodes:
            return
        data = (NodeKind.DATASTORE, NodeKind.BROKER)
        if self.nodes[source].kind in data and self.nodes[target].kind not in data:
            return  # a datastore does not call services (a value like POSTGRES_DB=inventory names a database)
        obs = self.nodes[target].attrs.get("observability") or self.nodes[source].attrs.get("observability")
        if obs or (env_name and TELEMETRY_ENV.search(env_name)):
            return  # telemetry export is not a call on any journey
        protocol, explicit = self.protocol_for(target, proto, port, env_name)
        self.raw.append(RawEdge(source, target, protocol, ev, explicit, topic))

    # -- evidence sources ----------------------------------------------------------------------
    def from_env(self) -> None:
        for n in list(self.nodes.values()):
            if n.kind is NodeKind.EXTERNAL:
                continue
            for name, (value, file, line) in sorted(n.env.items()):
                value = self.substitute(value, n.env)
                for target, proto, port in self.resolve(value, env_name=name, allow_external=True, allow_bare=True):
                    self.add(n.name, target, proto, port, Evidence(file, line, "env", f"{name}={_short(value)}"), name)

    def owner_of_file(self, path: str, sf: SourceFile | None) -> str | None:
        if sf is not None and sf.service and sf.service in self.nodes:
            return sf.service
        d = posixpath.dirname(path)
        if d in self._owner_cache:
            return self._owner_cache[d]
        owner = self._owner_of_dir(path)
        self._owner_cache[d] = owner
        return owner

    def _owner_of_dir(self, path: str) -> str | None:
        best: tuple[int, str] | None = None
        for n in self.nodes.values():
            dirs = [n.path] if n.path else []
            dirs += [w.build_context for w in n.workloads if w.build_context]
            for d in dirs:
                if d and path.startswith(d + "/") and (best is None or len(d) > best[0]):
                    best = (len(d), n.name)
        return best[1] if best else None

    def from_facts(self) -> None:
        by_path = {f.path: f for f in self.files}
        for path, facts in sorted(self.python_facts.items()):
            sf = by_path.get(path)
            if sf is not None and sf.is_test:
                continue
            owner = self.owner_of_file(path, sf)
            if owner is None or not isinstance(facts, dict):
                continue
            self._facts(owner, path, facts, allow_external=True)
        for f in self.files:
            if f.path not in self.other_facts:
                continue
            owner = self.owner_of_file(f.path, f)
            if owner is None:
                continue
            self._facts(owner, f.path, self.other_facts[f.path], allow_external=False)

    def _facts(self, owner: str, path: str, facts: Mapping[str, Any], *, allow_external: bool) -> None:
        env = self.nodes[owner].env
        for e in facts.get("env", ()):
            default = e.get("default")
            name = str(e.get("name", ""))
            if name in env:  # the deployed value wins and is already an edge from the manifest
                continue
            if isinstance(default, str) and default:
                for target, proto, port in self.resolve(default, env_name=name, allow_external=False, allow_bare=True):
                    self.add(owner, target, proto, port, Evidence(path, int(e.get("line", 1)), "code", f"{name} default {_short(default)}"), name)
        for u in facts.get("urls", ()):
            value = self.substitute(str(u.get("value", "")), env)
            for target, proto, port in self.resolve(value, allow_external=allow_external):
                self.add(owner, target, proto, port, Evidence(path, int(u.get("line", 1)), "code", _short(value)))
        topics_by_line = {int(t.get("line", 0)): str(t.get("topic")) for t in facts.get("topics", ())}
        file_topics = sorted({str(t.get("topic")) for t in facts.get("topics", ())})
        for c in facts.get("clients", ()):
            cproto = str(c.get("protocol") or "") or None
            for arg in c.get("args", ()):
                value = self.substitute(str(arg), env)
                for target, proto, port in self.resolve(value, allow_external=allow_external, allow_bare=c.get("kind") != "http"):
                    self.add(
                        owner,
                        target,
                        proto if proto and proto != "http" else cproto,
                        port,
                        Evidence(path, int(c.get("line", 1)), "code", f"{c.get('kind')} client"),
                        topic=topics_by_line.get(int(c.get("line", 0))) or (", ".join(file_topics) if file_topics else None),
                    )

    def from_network_policies(self) -> None:
        node_of = self.dm.node_of
        by_label: dict[str, list[Workload]] = {}  # label name -> the workloads (with a node) carrying it
        if self.dm.network_policies:
            for w in self.dm.k8s_workloads:
                if wkey(w) in node_of:
                    for k in w.labels:
                        by_label.setdefault(k, []).append(w)

        def select(sel: dict[str, str]) -> set[str]:
            exact = {node_of[wkey(w)] for w in self.dm.k8s_workloads_matching(sel) if wkey(w) in node_of}
            if exact or len(sel) != 1:
                return exact
            # a selector that matches nothing (QS206) still says who was meant: cart ~ carts
            (k, v), = sel.items()
            return {node_of[wkey(w)] for w in by_label.get(k, ()) if normalize(w.labels[k]) == normalize(v)}

        for pol in self.dm.network_policies:
            targets = select(pol.pod_selector) if pol.pod_selector else set()
            for peer in pol.ingress:
                sources = select(peer.labels) if peer.labels else set()
                for s in sorted(sources):
                    for t in sorted(targets):
                        port = peer.ports[0] if peer.ports and isinstance(peer.ports[0], int) else None
                        self.add(s, t, None, port, Evidence(pol.file, peer.line, "network-policy", pol.name))

    def from_ingresses(self) -> None:
        for ing in self.dm.ingresses:
            src = f"ingress/{ing.name}"
            for b in ing.backends:
                t = self.lookup(b.service)
                if t:
                    self.add(src, t, "http", b.port if isinstance(b.port, int) else None, Evidence(ing.file, b.line, "ingress", b.service))

    def from_gateways(self) -> None:
        for conf in self.dm.nginx:
            owner = self.owner_of_file(conf.path, None) or self._gateway_owner(conf.path)
            env = self.nodes[owner].env if owner else {}
            upstream_names = set(conf.upstreams)
            entries = [t for t in conf.targets] + [s for ups in conf.upstreams.values() for s in ups]
            for t in entries:
                raw = t.target
                for var, val in conf.variables.items():
                    raw = raw.replace("$" + var, val)
                raw = _expand_vars(raw, env)
                host = re.sub(r"^[a-z]+://", "", raw).split("/", 1)[0]
                if host.split(":", 1)[0] in upstream_names:
                    continue
                value = raw if "://" in raw else f"http://{raw}"
                for target, proto, port in self.resolve(value, allow_external=False):
                    if owner:
                        self.add(owner, target, "grpc" if t.directive == "grpc_pass" else proto, port, Evidence(conf.path, t.line, "gateway", t.directive))
        for econf in self.dm.envoy:
            owner = self.owner_of_file(econf.path, None) or self._gateway_owner(econf.path)
            env = self.nodes[owner].env if owner else {}
            for ep in econf.endpoints:
                host = _expand_vars(ep.host, env)
                for target, proto, port in self.resolve(f"{host}:{ep.port or 80}", allow_external=False):
                    if owner:
                        self.add(owner, target, proto, port, Evidence(econf.path, ep.line, "gateway", f"envoy cluster {ep.cluster}"))

    def _gateway_owner(self, path: str) -> str | None:
        d = posixpath.dirname(path)
        name = posixpath.basename(d) or posixpath.splitext(posixpath.basename(path))[0]
        if not name:
            return None
        existing = self.lookup(name)
        if existing:
            return existing
        n = self.node(name, kind=NodeKind.GATEWAY, tier="gateway", path=d)
        n.location = (path, 1)
        return name

    def from_apphosts(self) -> None:
        """.NET Aspire AppHosts: resources become nodes, references become edges."""
        norm_services = {normalize(n.name): n.name for n in self.nodes.values() if n.discovered}
        kinds = {"datastore": NodeKind.DATASTORE, "broker": NodeKind.BROKER, "gateway": NodeKind.GATEWAY, "service": NodeKind.SERVICE}
        protocols = {"Redis": "redis", "Valkey": "redis", "Garnet": "redis", "Postgres": "sql", "SqlServer": "sql", "MySql": "sql",
                     "Oracle": "sql", "MongoDB": "mongo", "RabbitMQ": "amqp", "Kafka": "kafka", "Nats": "nats"}
        for f in self.files:
            if not f.path.endswith(".cs") or f.path not in self.texts or f.is_test:
                continue
            text = decode(self.texts[f.path])
            if not aspire_p.is_apphost(text):
                continue
            app = aspire_p.parse_apphost(text, f.path)
            node_of: dict[str, str] = {}
            for r in app.resources:
                key = r.var or f"@{r.name}"
                if r.kind == "database":
                    if r.parent and r.parent in node_of:
                        node_of[key] = node_of[r.parent]
                        self.add_alias(r.name, node_of[r.parent])
                    continue
                name = None
                if r.kind in ("service", "gateway"):
                    name = norm_services.get(normalize(r.project or "")) or norm_services.get(normalize(r.name))
                    name = name or self.lookup(r.name)
                else:  # a datastore/broker never links to a source directory (an "EventBus" library)
                    found = self.lookup(r.name)
                    name = found if found and not self.nodes[found].discovered else None
                    if name is None and r.name in self.nodes:
                        name = f"{r.name}-{r.method.lower()}"
                name = name or r.name
                n = self.node(name)
                if not n.discovered or r.kind != "service":
                    n.kind = kinds.get(r.kind, NodeKind.SERVICE)
                    n.tier = {"datastore": "data", "broker": "middleware", "gateway": "gateway"}.get(r.kind, n.tier)
                    if r.method in protocols:
                        n.protocol = protocols[r.method]
                        if n.protocol == "redis":
                            n.tier = "middleware"
                self.add_alias(r.name, name)
                n.location = n.location or (f.path, r.line)
                n.attrs.setdefault("apphost", f"{f.path}:{r.line}")
                node_of[key] = name
            for ref in app.refs:
                if ref.env_name and re.search(r"(?i)callback|client$", ref.env_name):
                    continue  # a callback URL handed to the other side, not a call
                s, t = node_of.get(ref.source), node_of.get(ref.target)
                if s and t:
                    self.add(s, t, None, None, Evidence(f.path, ref.line, "apphost", ref.method), ref.env_name or "")

    def scan_sources(self) -> None:
        """Facts of every non-Python source once; nodes that serve gRPC are marked."""
        by_path = {f.path: f for f in self.files}
        for f in self.files:
            if f.is_test or f.path not in self.texts:
                continue
            if f.kind is FileKind.OTHER_SOURCE:
                self.other_facts[f.path] = scan_text(decode(self.texts[f.path]))
            elif f.kind is FileKind.YAML and f.service and f.path.rsplit("/", 1)[-1].startswith(("application", "appsettings", "config", "settings")):
                # a service's own config (Spring application.yml, ${DB_HOST:mysql}, jdbc URLs)
                text = decode(self.texts[f.path])
                if not looks_like_k8s(text):
                    self.other_facts[f.path] = scan_text(text)
        for path, facts in [*self.python_facts.items(), *self.other_facts.items()]:
            if isinstance(facts, dict) and "grpc" in facts.get("serves", ()):
                owner = self.owner_of_file(path, by_path.get(path))
                if owner:
                    self.nodes[owner].attrs["serves_grpc"] = True

    def run(self) -> None:
        self.dm = build_deployment(self.files, self.texts)
        self.diagnostics.extend(self.dm.diagnostics)
        self.build_nodes()
        self.from_apphosts()
        self.scan_sources()
        self.collect_env()
        self.from_env()
        self.from_facts()
        self.from_network_policies()
        self.from_ingresses()
        self.from_gateways()


def _expand_vars(raw: str, env: Mapping[str, tuple[str, str, int]]) -> str:
    """``$VAR`` / ``${VAR}`` (nginx envsubst templates, Envoy) from an environment."""
    return re.sub(r"\$\{?(\w+)\}?", lambda m: env[m.group(1)][0] if m.group(1) in env else m.group(0), raw)


_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/@:\s]*):[^/@\s]*@")
_SECRET_PARAM = re.compile(r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)=([^&;\s]+)")


def _short(value: str) -> str:
    """Evidence text for reports: passwords in URLs (``user:pass@``, ``?password=``) are redacted."""
    value = _SECRET_PARAM.sub(r"\1=***", _USERINFO.sub(r"\1:***@", value))
    return value if len(value) <= 80 else value[:77] + "..."


def _is_external(host: str) -> bool:
    h = host.lower()
    if "." not in h or NOT_EXTERNAL.search(h):
        return False
    try:
        ipaddress.ip_address(h)
        return False
    except ValueError:
        pass
    tld = h.rsplit(".", 1)[-1]
    return tld.isalpha() and 2 <= len(tld) <= 12


def merge_edges(raw: Iterable[RawEdge]) -> list[dict[str, Any]]:
    """One edge per (source, target): protocol from the most explicit evidence, evidence sorted."""
    grouped: dict[tuple[str, str], list[RawEdge]] = {}
    for r in raw:
        grouped.setdefault((r.source, r.target), []).append(r)
    out = []
    for (s, t), items in sorted(grouped.items()):
        explicit = [i for i in items if i.explicit_protocol]
        protocol = sorted(explicit or items, key=lambda i: (i.evidence.kind == "network-policy", i.evidence))[0].protocol
        by_line: dict[tuple[str, int], Evidence] = {}
        for ev in sorted({i.evidence for i in items}):
            by_line.setdefault((ev.file, ev.line), ev)  # one piece of evidence per line
        evidence = sorted(by_line.values())
        kinds = sorted({e.kind for e in evidence})
        topics = sorted({i.topic for i in items if i.topic})
        confidence = "medium" if set(kinds) <= {"network-policy"} else "high"
        out.append(
            {
                "source": s,
                "target": t,
                "protocol": protocol,
                "sync": protocol not in ASYNC_PROTOCOLS,
                "evidence": tuple(evidence),
                "attrs": {"evidence_kinds": kinds, "confidence": confidence, **({"topics": topics} if topics else {})},
            }
        )
    return out
