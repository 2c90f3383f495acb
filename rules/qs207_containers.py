"""QS207 missing-probes, QS208 missing-resources, QS217 unpinned-image."""

from __future__ import annotations

from collections.abc import Iterator

from qualscan.engine.rule import Hit, ProjectContext, ProjectRule
from qualscan.model import Confidence, Severity
from qualscan.parsers.helm import UNRESOLVED_TEXT
from qualscan.parsers.kustomize import split_image

from ._deploy import LONG_RUNNING, hit, primary_workloads, severity_for

_HEAD = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: cart
spec:
  replicas: 3
  selector:
    matchLabels:
      app: cart
  template:
    metadata:
      labels:
        app: cart
    spec:
      containers:
"""
_PROBES = """          readinessProbe:
            httpGet: {path: /ready, port: 8080}
          livenessProbe:
            httpGet: {path: /live, port: 8080}
"""
_RESOURCES = """          resources:
            requests: {cpu: 250m, memory: 256Mi}
            limits: {memory: 512Mi}
"""


def container(name_mark: str = "", image: str = "shop/cart:1.4.2", image_mark: str = "", probes: bool = True, resources: bool = True) -> str:
    return (
        _HEAD
        + f"        - name: cart{name_mark}\n          image: {image}{image_mark}\n"
        + (_PROBES if probes else "")
        + (_RESOURCES if resources else "")
    )


class MissingProbes(ProjectRule):
    """
    ## What it does
    Reports containers of long-running Kubernetes workloads with no `readinessProbe` or no
    `livenessProbe` (init containers are skipped).

    ## Why it matters during a sales peak
    Without a readiness probe a pod receives traffic before it can serve and keeps receiving it
    while overloaded; without a liveness probe a deadlocked process stays in rotation forever.
    Both turn one bad pod into errors for a share of every request.

    ## Example
    ```yaml
    containers:
      - name: cart
        image: shop/cart:1.4.2
    ```

    ## Use instead
    ```yaml
    containers:
      - name: cart
        image: shop/cart:1.4.2
        readinessProbe: {httpGet: {path: /ready, port: 8080}}
        livenessProbe: {httpGet: {path: /live, port: 8080}}
    ```
    """

    code = "QS207"
    name = "missing-probes"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    summary = "Container has no readiness or liveness probe"

    VALID = [container()]
    INVALID = [container(name_mark="  # qualscan: expect[QS207]", probes=False)]

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        for w, node in primary_workloads(ctx, compose=False):
            if w.source == "compose" or w.kind not in LONG_RUNNING:
                continue
            for c in w.containers:
                if c.init or (c.readiness and c.liveness):
                    continue
                missing = " and ".join(p for p, ok in (("readiness", c.readiness), ("liveness", c.liveness)) if not ok)
                yield hit(
                    f"container {c.name} of {w.kind} {w.name} has no {missing} probe",
                    c.file or w.file,
                    c.line,
                    target=node,
                    key=f"{w.kind}/{w.name}/{c.name}",
                    service=node,
                    severity=severity_for(ctx, node, Severity.MEDIUM, Severity.HIGH),
                    details={"missing": missing},
                )


class MissingResources(ProjectRule):
    """
    ## What it does
    Reports containers of long-running Kubernetes workloads with no resource `requests` or no
    `limits`.

    ## Why it matters during a sales peak
    Without requests the scheduler packs pods onto nodes that cannot serve them and the HPA's
    CPU utilisation has no denominator; without a memory limit one leaking pod starves its
    neighbours until the kernel OOM-kills something else.

    ## Example
    ```yaml
    - name: cart
      image: shop/cart:1.4.2
    ```

    ## Use instead
    ```yaml
    - name: cart
      image: shop/cart:1.4.2
      resources:
        requests: {cpu: 250m, memory: 256Mi}
        limits: {memory: 512Mi}
    ```
    """

    code = "QS208"
    name = "missing-resources"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    summary = "Container has no resource requests or limits"

    VALID = [container()]
    INVALID = [container(name_mark="  # qualscan: expect[QS208]", resources=False)]

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        for w, node in primary_workloads(ctx, compose=False):
            if w.source == "compose" or w.kind not in LONG_RUNNING:
                continue
            for c in w.containers:
                if c.init or (c.requests and c.limits):
                    continue
                missing = " and ".join(p for p, ok in (("requests", c.requests), ("limits", c.limits)) if not ok)
                yield hit(
                    f"container {c.name} of {w.kind} {w.name} has no resource {missing}",
                    c.file or w.file,
                    c.line,
                    target=node,
                    key=f"{w.kind}/{w.name}/{c.name}",
                    service=node,
                    details={"missing": missing},
                )


class UnpinnedImage(ProjectRule):
    """
    ## What it does
    Reports container images with no tag or the `latest` tag, in Kubernetes workloads (including
    rendered Helm templates) and compose services. Digests (`@sha256:`) count as pinned.

    ## Why it matters during a sales peak
    `latest` is whatever was pushed last: a pod rescheduled or scaled out during the event may
    pull a different build than its siblings, and a rollback has nothing to roll back to.

    ## Example
    ```yaml
    image: registry.shop.example/cart:latest
    ```

    ## Use instead
    ```yaml
    image: registry.shop.example/cart:1.4.2   # or @sha256:...
    ```
    """

    code = "QS217"
    name = "unpinned-image"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    summary = "Image with no tag or the latest tag"

    VALID = [
        container(),
        container(image="shop/cart@sha256:4c1a8c0e9f4b6d0a2f1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3e5f"),
        {"docker-compose.yml": "services:\n  cart:\n    image: shop/cart:1.4.2\n"},
    ]
    INVALID = [
        container(image="registry.shop.example:5000/cart:latest", image_mark="  # qualscan: expect[QS217]"),
        container(image="shop/cart", image_mark="  # qualscan: expect[QS217]"),
        {"docker-compose.yml": "services:\n  cart:\n    image: shop/cart  # qualscan: expect[QS217]\n"},
    ]

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        seen: set[tuple[str, int]] = set()
        for w, node in primary_workloads(ctx):
            for c in w.containers:
                if not c.image or not c.image_line or UNRESOLVED_TEXT in c.image or "$" in c.image:
                    continue
                _, tag = split_image(c.image)
                if tag is not None and tag != "latest" and tag.strip():
                    continue
                file = str(w.extra.get("image_file", w.file)) if w.source == "compose" else (c.file or w.file)
                if (file, c.image_line) in seen:
                    continue
                seen.add((file, c.image_line))
                yield hit(
                    f"image {c.image} of {w.name} is {'untagged' if tag is None else 'tagged latest'}: pods may run "
                    "different builds and rollbacks have no target",
                    file,
                    c.image_line,
                    target=node,
                    key=f"{w.kind}/{w.name}/{c.name}",
                    service=node,
                )
