"""Assemble the deployment model of a monorepo from every manifest-like file.

Raw Kubernetes YAML, Helm charts (rendered best-effort, line-preserving), kustomize overlays
(``replicas:``, ``images:``, strategic-merge patches), layered docker-compose files with ``.env``
interpolation, Dockerfile ``ENV`` defaults, nginx and Envoy configs, skaffold artifacts. The same
resource defined twice (a bundled release copy, a kustomize base beside the raw manifests, the
Helm chart of the same app) is kept once: raw manifests win over kustomize bases over Helm.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qualscan.model import Diagnostic, FileKind, Level, SourceFile
from qualscan.parsers import compose as compose_p
from qualscan.parsers import helm as helm_p
from qualscan.parsers import k8s as k8s_p
from qualscan.parsers import kustomize as kust_p
from qualscan.parsers.dockerfile import Dockerfile, parse_dockerfile
from qualscan.parsers.envoy import EnvoyConf, looks_like_envoy, parse_envoy
from qualscan.parsers.nginx import NginxConf, looks_like_nginx, parse_nginx
from qualscan.parsers.yamlsafe import as_dict, as_list, decode, get, load_documents, load_one

_RELEASE_DIRS = re.compile(r"(^|/)(release|releases|dist|generated|rendered|out|build)(/|$)")
_NON_PROD = re.compile(r"(^|/|[-_.])(dev|development|test|testing|local|minikube|kind|ci|e2e|staging|debug)([-_./]|$)")


@dataclass
class DependsOn:
    source: str  # compose service name
    target: str
    file: str
    line: int


@dataclass
class DeploymentModel:
    """Every parsed deployment resource, with file and line, deduplicated."""

    workloads: list[k8s_p.Workload] = field(default_factory=list)
    services: list[k8s_p.KService] = field(default_factory=list)
    ingresses: list[k8s_p.Ingress] = field(default_factory=list)
    hpas: list[k8s_p.HPA] = field(default_factory=list)
    pdbs: list[k8s_p.PDB] = field(default_factory=list)
    network_policies: list[k8s_p.NetworkPolicy] = field(default_factory=list)
    config_maps: list[k8s_p.ConfigMap] = field(default_factory=list)
    secrets: list[k8s_p.NamedResource] = field(default_factory=list)
    pvcs: list[k8s_p.NamedResource] = field(default_factory=list)
    depends_on: list[DependsOn] = field(default_factory=list)
    dockerfiles: dict[str, Dockerfile] = field(default_factory=dict)  # directory -> Dockerfile
    nginx: list[NginxConf] = field(default_factory=list)
    envoy: list[EnvoyConf] = field(default_factory=list)
    kustomizations: list[kust_p.Kustomization] = field(default_factory=list)
    skaffold_images: dict[str, str] = field(default_factory=dict)  # image name -> build context dir
    env_files: dict[str, dict[str, str]] = field(default_factory=dict)  # directory -> .env
    duplicates: int = 0
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # filled by the graph builder: workload key -> graph node name
    node_of: dict[tuple[str, str, str, str], str] = field(default_factory=dict)
    _index: _Index | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def k8s_workloads(self) -> list[k8s_p.Workload]:
        return [w for w in self.workloads if w.source != "compose"]

    @property
    def compose_workloads(self) -> list[k8s_p.Workload]:
        return [w for w in self.workloads if w.source == "compose"]

    def node(self, wl: k8s_p.Workload) -> str | None:
        return self.node_of.get(wkey(wl))

    def index(self) -> _Index:
        """Lookups by name and label over the workloads, HPAs and PDBs, built on first use and
        rebuilt when one of those lists is replaced or grows (the lookups below were scans of
        every resource per workload: quadratic in the number of services)."""
        sig = _Index.signature(self)
        if self._index is None or self._index.sig != sig:
            self._index = _Index(self, sig)
        return self._index

    def hpa_for(self, wl: k8s_p.Workload) -> k8s_p.HPA | None:
        for h in self.index().hpas_by_target.get(wl.name, ()):
            if (not h.target_kind or h.target_kind == wl.kind) and _same_ns(h.namespace, wl.namespace):
                return h
        return None

    def pdbs_for(self, wl: k8s_p.Workload) -> list[k8s_p.PDB]:
        """``[p for p in self.pdbs if selects(p.selector, p.file, wl) and same namespace]``."""
        pdbs = self.pdbs
        return [
            pdbs[i]
            for i in self.index().pdb_candidates(wl)
            if selects(pdbs[i].selector, pdbs[i].file, wl) and _same_ns(pdbs[i].namespace, wl.namespace)
        ]

    def workloads_selected(self, selector: dict[str, str], file: str) -> list[k8s_p.Workload]:
        """``[w for w in self.k8s_workloads if selects(selector, file, w)]``, in that order."""
        ix = self.index()
        if selector:
            return ix.labels.matching(selector)
        return [w for w in ix.helm_unlabelled.get(posixpath.dirname(file), ()) if selects(selector, file, w)]

    def k8s_workloads_matching(self, selector: dict[str, str]) -> list[k8s_p.Workload]:
        """``[w for w in self.k8s_workloads if w.matches(selector)]``, in that order."""
        return self.index().labels.matching(selector)

    def k8s_workloads_named(self, name: str) -> list[k8s_p.Workload]:
        """``[w for w in self.k8s_workloads if w.name == name]``, in that order."""
        return self.index().k8s_by_name.get(name, [])

    def to_json(self) -> dict[str, Any]:
        return {
            "workloads": [
                {
                    "kind": w.kind,
                    "name": w.name,
                    "file": w.file,
                    "line": w.line,
                    "replicas": w.effective_replicas,
                    "source": w.source,
                    "node": self.node(w),
                }
                for w in self.workloads
            ],
            "hpas": [{"name": h.name, "file": h.file, "target": h.target_name, "max": h.max_replicas} for h in self.hpas],
            "pdbs": [{"name": p.name, "file": p.file, "selector": p.selector} for p in self.pdbs],
            "network_policies": len(self.network_policies),
            "ingresses": [{"name": i.name, "file": i.file} for i in self.ingresses],
            "depends_on": [d.__dict__ for d in self.depends_on],
        }


class _Index:
    """The lookups of :meth:`DeploymentModel.index` (label values and names are read once, when
    it is built: the deployment model is final by the time anything matches selectors)."""

    def __init__(self, dm: DeploymentModel, sig: tuple[int, ...]) -> None:
        self.sig = sig
        k8s = dm.k8s_workloads
        self.labels = k8s_p.LabelIndex(k8s)
        self.k8s_by_name: dict[str, list[k8s_p.Workload]] = {}
        self.helm_unlabelled: dict[str, list[k8s_p.Workload]] = {}  # chart directory -> workloads
        for w in k8s:
            self.k8s_by_name.setdefault(w.name, []).append(w)
            if w.source == "helm" and not w.labels:
                self.helm_unlabelled.setdefault(posixpath.dirname(w.file), []).append(w)
        self.hpas_by_target: dict[str, list[k8s_p.HPA]] = {}
        for h in dm.hpas:
            self.hpas_by_target.setdefault(h.target_name, []).append(h)
        # a PDB is filed under one (label, value) pair of its selector: every workload it selects
        # carries that pair; the PDBs with an empty selector (the Helm case of ``selects``) are
        # candidates for every workload
        self.pdbs_by_pair: dict[tuple[str, str], list[int]] = {}
        self.pdbs_any: list[int] = []
        for i, p in enumerate(dm.pdbs):
            if p.selector:
                k, v = next(iter(p.selector.items()))
                self.pdbs_by_pair.setdefault((k, str(v)), []).append(i)
            else:
                self.pdbs_any.append(i)

    @staticmethod
    def signature(dm: DeploymentModel) -> tuple[int, ...]:
        return (id(dm.workloads), len(dm.workloads), id(dm.hpas), len(dm.hpas), id(dm.pdbs), len(dm.pdbs))

    def pdb_candidates(self, wl: k8s_p.Workload) -> list[int]:
        """Indexes into ``dm.pdbs`` of the PDBs that may select ``wl``, ascending."""
        found = list(self.pdbs_any)
        for pair in wl.labels.items():
            found += self.pdbs_by_pair.get(pair, ())
        return sorted(set(found))


def selects(selector: dict[str, str], file: str, wl: k8s_p.Workload) -> bool:
    """``wl.matches(selector)``, plus the Helm case where both label sets came from an unresolved
    ``include`` (empty after rendering): a selector and a workload of the same chart directory."""
    if wl.matches(selector):
        return True
    return (
        wl.source == "helm"
        and not selector
        and not wl.labels
        and posixpath.dirname(file) == posixpath.dirname(wl.file)
    )


def wkey(wl: k8s_p.Workload) -> tuple[str, str, str, str]:
    return (wl.kind, wl.namespace, wl.name, wl.file)


def _same_ns(a: str, b: str) -> bool:
    return not a or not b or a == b


def _priority(res: Any, source: str) -> tuple[int, str]:
    path = res.file
    rank = {"k8s": 0, "kustomize": 1, "helm": 2, "compose": 3}.get(source, 4)
    if _RELEASE_DIRS.search(path):
        rank += 5
    return (rank, path)


def _chart_of(path: str, charts: Sequence[str]) -> str | None:
    for chart in sorted(charts, key=len, reverse=True):
        prefix = f"{chart}/templates/" if chart else "templates/"
        if path.startswith(prefix):
            return chart
    return None


def _dedup(items: list[Any], source_of: Any) -> tuple[list[Any], int]:
    best: dict[tuple[str, str], Any] = {}
    for item in items:
        k = (item.key[0], item.key[2])
        if not k[1] or helm_p.UNRESOLVED_TEXT in k[1]:
            best[(k[0], f"{k[1]}@{item.file}:{item.line}")] = item
            continue
        cur = best.get(k)
        if cur is None or _priority(item, source_of(item)) < _priority(cur, source_of(cur)):
            best[k] = item
    kept = sorted(best.values(), key=lambda r: (r.file, r.line))
    return kept, len(items) - len(kept)


def build_deployment(files: Sequence[SourceFile], texts: Mapping[str, bytes]) -> DeploymentModel:
    dm = DeploymentModel()
    kinds = {f.path: f.kind for f in files}
    paths = sorted(set(texts) | {p for p in kinds if p.endswith(("Chart.yaml", "values.yaml"))})
    charts = sorted(posixpath.dirname(p) for p in texts if posixpath.basename(p) == "Chart.yaml")
    text_of: dict[str, str] = {}

    def text(p: str) -> str:
        if p not in text_of:
            text_of[p] = decode(texts.get(p, b""))
        return text_of[p]

    # -- env files, kustomizations, skaffold (needed before the rest)
    patch_files: set[str] = set()
    for p in paths:
        base = posixpath.basename(p)
        if base == ".env" or kinds.get(p) is FileKind.ENV and base.startswith(".env"):
            if base == ".env":
                dm.env_files[posixpath.dirname(p)] = compose_p.parse_env_file(text(p))
        elif kust_p.is_kustomization(p) and p in texts:
            k, diags = kust_p.parse_kustomization(text(p), p)
            dm.kustomizations.append(k)
            dm.diagnostics.extend(diags)
            patch_files.update(k.patch_files)
        elif base in ("skaffold.yaml", "skaffold.yml") and p in texts:
            docs, _ = load_documents(text(p), p)
            for doc in docs:
                for art in as_list(get(doc.data, "build", "artifacts")):
                    if isinstance(art, dict) and isinstance(art.get("image"), str):
                        ctx = str(art.get("context") or ".")
                        dm.skaffold_images[art["image"]] = posixpath.normpath(posixpath.join(posixpath.dirname(p), ctx))

    # -- helm charts
    chart_meta: dict[str, helm_p.Chart] = {}
    for chart in charts:
        cpath = f"{chart}/Chart.yaml" if chart else "Chart.yaml"
        meta, diags = helm_p.parse_chart_yaml(text(cpath), cpath)
        dm.diagnostics.extend(diags)
        vpath = f"{chart}/values.yaml" if chart else "values.yaml"
        if vpath in texts:
            meta.values, vdiags = helm_p.parse_values(text(vpath), vpath)
            dm.diagnostics.extend(vdiags)
        for p in paths:
            b = posixpath.basename(p)
            if posixpath.dirname(p) == chart and re.match(r"^values[-.](prod|production)[\w.-]*\.ya?ml$", b):
                extra, vdiags = helm_p.parse_values(text(p), p)
                meta.values = helm_p.merge_values(meta.values, extra)
        chart_meta[chart] = meta

    manifests = k8s_p.Manifests()
    source_of: dict[int, str] = {}
    compose_groups: dict[str, list[str]] = {}
    for p in paths:
        if p not in texts:
            continue
        kind = kinds.get(p, FileKind.OTHER)
        base = posixpath.basename(p)
        lower = base.lower()
        if kind is FileKind.DOCKERFILE or base == "Dockerfile" or base.startswith("Dockerfile."):
            d = posixpath.dirname(p)
            if d not in dm.dockerfiles or base == "Dockerfile":
                dm.dockerfiles[d] = parse_dockerfile(text(p), p)
            continue
        if kind is FileKind.COMPOSE or compose_p.is_compose_path(p):
            if re.search(r"(^|[-_.])(tests?|e2e|ci)([-_.]|$)", lower):
                continue  # a test stack, not the deployment
            compose_groups.setdefault(posixpath.dirname(p), []).append(p)
            continue
        if kind is FileKind.NGINX or (kind in (FileKind.OTHER, FileKind.OTHER_SOURCE) and "nginx" in p.lower() and looks_like_nginx(text(p))):
            dm.nginx.append(parse_nginx(text(p), p))
            continue
        if not lower.endswith((".yaml", ".yml")) and kind is not FileKind.HELM_TEMPLATE:
            continue
        if base == "Chart.yaml" or kust_p.is_kustomization(p) or p in patch_files:
            continue
        if re.match(r"^values([-.].*)?\.ya?ml$", lower) and posixpath.dirname(p) in chart_meta:
            continue
        t = text(p)
        if "\x00" in t:  # a binary file with a YAML name (images, archives, compiled data)
            dm.diagnostics.append(Diagnostic(p, 1, Level.WARNING, "binary content (NUL bytes) in a YAML file; skipped"))
            continue
        chart_dir = _chart_of(p, charts)
        if chart_dir is not None or kind is FileKind.HELM_TEMPLATE:
            meta = chart_meta.get(chart_dir or "", helm_p.Chart(name=posixpath.basename(chart_dir or "chart") or "chart"))
            if base.startswith("_") or base.endswith(".tpl"):
                continue
            rendered, diags = helm_p.render_template(t, meta.values, chart=meta, path=p)
            dm.diagnostics.extend(_summarise_helm(diags, p))
            m = k8s_p.parse_k8s(rendered, p, source="helm")
            _collect(manifests, m, source_of, "helm")
            continue
        if looks_like_envoy(t):
            conf, diags = parse_envoy(t, p)
            dm.envoy.append(conf)
            dm.diagnostics.extend(diags)
            continue
        if not k8s_p.looks_like_k8s(t):
            continue
        if helm_p.is_template(t) and re.search(r"\{\{-?\s*(\.Values|\.Release|include|if|range)", t):
            rendered, diags = helm_p.render_template(t, {}, path=p)
            dm.diagnostics.append(Diagnostic(p, 1, Level.INFO, "Go-template file outside a Helm chart: rendered with empty values"))
            dm.diagnostics.extend(_summarise_helm(diags, p))
            t = rendered
        source = "kustomize" if any(p.startswith(k.directory + "/") for k in dm.kustomizations if k.directory) else "k8s"
        m = k8s_p.parse_k8s(t, p, source=source)
        _collect(manifests, m, source_of, source)

    # -- compose projects (layered files per directory)
    for d, group in sorted(compose_groups.items()):
        group.sort(key=compose_p.compose_base_rank)
        env = dict(dm.env_files.get(d, {}))
        cfs = []
        for p in group:
            cf, diags = compose_p.parse_compose(text(p), p, env)
            dm.diagnostics.extend(diags)
            if cf.services:
                cfs.append(cf)
        for wl in compose_p.merge_compose(cfs, env):
            for ef in wl.extra.get("env_files", []):
                if ef not in texts:
                    dm.diagnostics.append(Diagnostic(wl.file, wl.line, Level.INFO, f"env_file {ef} of {wl.name} not found"))
                    continue
                known = {e.name for e in wl.containers[0].env if e.value is not None}
                for key, (val, line) in compose_p.parse_env_lines(text(ef)).items():
                    if key not in known:  # environment: wins over env_file
                        wl.containers[0].env.append(k8s_p.EnvVar(key, val, line, file=ef))
            manifests.workloads.append(wl)
            source_of[id(wl)] = "compose"
            for dep, line in wl.depends_on:
                dm.depends_on.append(DependsOn(wl.name, dep, str(wl.extra.get("depends_on_file", wl.file)), line))

    dm.diagnostics.extend(manifests.diagnostics)

    # -- dedup
    def src(r: Any) -> str:
        return source_of.get(id(r), getattr(r, "source", "k8s"))

    k8s_wls = [w for w in manifests.workloads if w.source != "compose"]
    compose_wls = [w for w in manifests.workloads if w.source == "compose"]
    kept, dup = _dedup(k8s_wls, src)
    dm.workloads = kept + compose_wls
    dm.duplicates += dup
    for attr in ("services", "ingresses", "hpas", "pdbs", "network_policies", "config_maps", "secrets", "pvcs"):
        items, dup = _dedup(getattr(manifests, attr), src)
        setattr(dm, attr, items)
        dm.duplicates += dup

    _apply_kustomize(dm, text)
    return dm


def _collect(into: k8s_p.Manifests, m: k8s_p.Manifests, source_of: dict[int, str], source: str) -> None:
    for r in m.all_resources():
        source_of[id(r)] = source
    into.extend(m)


def _summarise_helm(diags: list[Diagnostic], path: str) -> list[Diagnostic]:
    """Keep Helm diagnostics readable: the first few lines, then a count."""
    if len(diags) <= 5:
        return diags
    rest = len(diags) - 5
    return diags[:5] + [Diagnostic(path, diags[5].line, Level.INFO, f"{rest} more Helm values not resolved in this template")]


def _apply_kustomize(dm: DeploymentModel, text: Any) -> None:
    """Apply the production-like kustomizations' replicas/images/patches to the parsed workloads."""
    chosen = [k for k in dm.kustomizations if not k.is_component and not _NON_PROD.search(k.directory.lower())]
    chosen.sort(key=lambda k: ("prod" in k.directory.lower(), k.path))
    by_name: dict[str, list[k8s_p.Workload]] = {}
    for w in dm.k8s_workloads:
        by_name.setdefault(w.name, []).append(w)
    for k in chosen:
        for name, count, line in k.replicas:
            for w in by_name.get(name, []):
                w.replicas = count
                w.replicas_line = line
                w.extra["replicas_file"] = k.path
        if k.images:
            for w in dm.k8s_workloads:
                for c in w.containers:
                    if c.image:
                        new = kust_p.apply_image(c.image, k.images)
                        if new != c.image:
                            c.image = new
        for pf in k.patch_files:
            _apply_patch_text(dm, by_name, text(pf), pf)
        for ptext, pline in k.inline_patches:
            _apply_patch_text(dm, by_name, ptext, k.path, pline - 1)


def _apply_patch_text(
    dm: DeploymentModel, by_name: dict[str, list[k8s_p.Workload]], ptext: str, path: str, offset: int = 0
) -> None:
    docs, diags = load_documents(ptext, path)
    dm.diagnostics.extend(diags)
    for doc in docs:
        d = as_dict(doc.data)
        name = get(d, "metadata", "name")
        if not isinstance(name, str):
            continue
        patch = k8s_p.parse_workload(d, path, "kustomize") if d.get("kind") in k8s_p.WORKLOAD_KINDS else None
        if patch is None:
            continue
        spec = as_dict(d.get("spec"))
        for w in by_name.get(name, []):
            if "replicas" in spec and patch.replicas is not None:
                w.replicas = patch.replicas
                w.replicas_line = patch.replicas_line + offset
                w.extra["replicas_file"] = path
            if patch.anti_affinity:
                w.anti_affinity = True
            if patch.topology_spread:
                w.topology_spread = True
            for pc in patch.containers:
                for c in w.containers:
                    if c.name == pc.name:
                        c.readiness = c.readiness or pc.readiness
                        c.liveness = c.liveness or pc.liveness
                        c.requests = c.requests or pc.requests
                        c.limits = c.limits or pc.limits
                        c.env.extend(pc.env)
                        if pc.image:
                            c.image = pc.image


def load_yaml(text: str, path: str) -> Any:  # small helper for callers that need one document
    doc, _ = load_one(text, path)
    return doc
