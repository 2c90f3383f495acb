"""QS218 fixed-container-name and QS219 depends-on-mismatch (docker-compose)."""

from __future__ import annotations

from collections.abc import Iterator

from qualscan.engine.rule import Hit, ProjectContext, ProjectRule
from qualscan.model import Confidence, Severity

from ._deploy import deployment_of, graph_of, hit


class FixedContainerName(ProjectRule):
    """
    ## What it does
    Reports compose services with a fixed `container_name:`.

    ## Why it matters during a sales peak
    A fixed container name allows exactly one container: `docker compose up --scale` and
    `deploy.replicas` fail for that service, so it cannot be scaled out when load arrives, and a
    replacement cannot start before the old container is gone (no rolling restart).

    ## Example
    ```yaml
    services:
      redis:
        image: redis:7.2.5
        container_name: shop-redis
    ```

    ## Use instead
    ```yaml
    services:
      redis:
        image: redis:7.2.5   # reach it by its service name, "redis"
    ```
    """

    code = "QS218"
    name = "fixed-container-name"
    severity = Severity.LOW
    confidence = Confidence.HIGH
    summary = "Compose service with a fixed container_name"
    example_path = "docker-compose.yml"

    VALID = ["services:\n  redis:\n    image: redis:7.2.5\n"]
    INVALID = ["services:\n  redis:\n    image: redis:7.2.5\n    container_name: shop-redis  # qualscan: expect[QS218]\n"]

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        dm = deployment_of(ctx)
        if dm is None:
            return
        for w in dm.compose_workloads:
            if w.container_name and w.container_name_line:
                yield hit(
                    f"compose service {w.name} has a fixed container_name {w.container_name!r}: it cannot be scaled "
                    "to more than one container",
                    str(w.extra.get("container_name_file", w.file)),
                    w.container_name_line,
                    key=w.name,
                    target=dm.node(w),
                    service=dm.node(w),
                )


class DependsOnMismatch(ProjectRule):
    """
    ## What it does
    Reports compose `depends_on` entries between two services that the service graph shows no
    call between (in either direction): the declared start-up order and the real dependencies
    disagree. (Calls found with no `depends_on` are listed in the graph analyses.)

    ## Why it matters during a sales peak
    `depends_on` is what people read to learn what depends on what. A stale entry hides the real
    dependencies (the ones that break journeys) and slows every restart behind services that are
    not needed; the real dependency that is missing starts in the wrong order after a crash.

    ## Example
    ```yaml
    services:
      cart:
        depends_on: [postgres]   # cart talks to redis, never to postgres
        environment: {REDIS_URL: "redis://redis:6379/0"}
    ```

    ## Use instead
    ```yaml
    services:
      cart:
        depends_on: [redis]
    ```
    """

    code = "QS219"
    name = "depends-on-mismatch"
    severity = Severity.LOW
    confidence = Confidence.LOW
    summary = "Compose depends_on disagrees with the real calls"
    example_path = "docker-compose.yml"

    VALID = [
        "services:\n  cart:\n    image: shop/cart:1.0.0\n    environment:\n      REDIS_URL: redis://redis:6379/0\n"
        "    depends_on:\n      - redis\n  redis:\n    image: redis:7.2.5\n"
    ]
    INVALID = [
        "services:\n  cart:\n    image: shop/cart:1.0.0\n    environment:\n      REDIS_URL: redis://redis:6379/0\n"
        "    depends_on:\n      - redis\n      - postgres  # qualscan: expect[QS219]\n  redis:\n    image: redis:7.2.5\n"
        "  postgres:\n    image: postgres:16.4\n"
    ]

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        g = graph_of(ctx)
        if g is None:
            return
        for s, t, file, line in g.depends_on_mismatches():
            yield hit(
                f"{s} depends_on {t} in compose, but no call between them was found: start-up order and real "
                "dependencies disagree",
                file,
                line,
                target=f"{s}->{t}",
                key=f"{s}->{t}",
                service=s,
            )
