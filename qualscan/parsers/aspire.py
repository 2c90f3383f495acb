""".NET Aspire AppHost (``Program.cs`` / ``AppHost.cs``): resources and their references.

An Aspire AppHost declares the application model in C#::

    var redis = builder.AddRedis("redis");
    var catalogDb = postgres.AddDatabase("catalogdb");
    var basketApi = builder.AddProject<Projects.Basket_API>("basket-api")
        .WithReference(redis)
        .WithEnvironment("Identity__Url", identityEndpoint);

``parse_apphost(text, path)`` reads that text statically (statement by statement, never compiling
or running it): resources with their kind, name, project type and line, and references between
them with the line of the reference. ``WaitFor`` is start-up order, not a call, and is kept apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from qualscan.parsers.yamlsafe import decode

# Add<Method> -> resource kind (service | datastore | broker | gateway)
KINDS = {
    "Redis": "datastore",
    "Valkey": "datastore",
    "Garnet": "datastore",
    "Postgres": "datastore",
    "SqlServer": "datastore",
    "MySql": "datastore",
    "MongoDB": "datastore",
    "Oracle": "datastore",
    "Elasticsearch": "datastore",
    "Milvus": "datastore",
    "Qdrant": "datastore",
    "AzureCosmosDB": "datastore",
    "AzureRedis": "datastore",
    "AzurePostgresFlexibleServer": "datastore",
    "AzureSqlServer": "datastore",
    "AzureStorage": "datastore",
    "Database": "database",
    "RabbitMQ": "broker",
    "Kafka": "broker",
    "Nats": "broker",
    "AzureServiceBus": "broker",
    "AzureEventHubs": "broker",
    "Yarp": "gateway",
    "Project": "service",
    "NpmApp": "service",
    "NodeApp": "service",
    "PythonApp": "service",
    "Uvicorn": "service",
    "Executable": "service",
    "Container": "service",
    "Dockerfile": "service",
}

_ADD = re.compile(r"\.Add(\w+?)(?:<\s*Projects\.([\w.]+)\s*>)?\(\s*\"([^\"]+)\"(?:\s*,\s*\"([^\"]+)\")?")
_ASSIGN = re.compile(r"^\s*(?:var|IResourceBuilder<[^>]+>)\s+(\w+)\s*=\s*(.*)$", re.S)
_STARTS_WITH_VAR = re.compile(r"^\s*(\w+)\s*\.")
_CALL = re.compile(r"\.(\w+)\s*\(")
_NOT_CALLS = frozenset({"WithParentRelationship", "WithRelationship", "GetEndpoint", "WithUrls", "WithUrl"})


@dataclass
class AspireResource:
    var: str | None
    name: str
    method: str  # Redis, Project, Database ...
    kind: str
    line: int
    project: str | None = None  # Projects.Basket_API -> Basket_API
    image: str | None = None
    parent: str | None = None  # the server variable of an AddDatabase


@dataclass
class AspireRef:
    source: str  # variable (or resource name of an anonymous resource)
    target: str  # variable
    line: int
    method: str  # WithReference | WithEnvironment | <route helper>
    env_name: str | None = None


@dataclass
class AppHost:
    path: str
    resources: list[AspireResource] = field(default_factory=list)
    refs: list[AspireRef] = field(default_factory=list)
    waits: list[AspireRef] = field(default_factory=list)


def is_apphost(text: str) -> bool:
    return "DistributedApplication.CreateBuilder" in text


def _strip_comments(text: str) -> str:
    """Blank out comments and string contents' semicolons, keeping offsets (and so lines)."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            for k in range(i, j):
                if out[k] != "\n":
                    out[k] = " "
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"' and text[j] != "\n":
                if text[j] == "\\":
                    j += 1
                elif text[j] == ";":
                    out[j] = " "
                j += 1
            i = j + 1
        else:
            i += 1
    return "".join(out)


def parse_apphost(data: bytes | str, path: str) -> AppHost:
    text = _strip_comments(decode(data))
    app = AppHost(path)
    var_of: dict[str, str] = {}  # variable -> variable of the resource it stands for (endpoints)
    known: set[str] = set()
    pos = 0
    for stmt in text.split(";"):
        start = pos
        pos += len(stmt) + 1
        if not stmt.strip():
            continue

        def line_at(offset: int, base: int = start) -> int:
            return text.count("\n", 0, base + offset) + 1

        m = _ASSIGN.match(stmt)
        var = m.group(1) if m else None
        body = m.group(2) if m else stmt
        body_off = stmt.index(body) if m else 0
        add = _ADD.search(body)
        owner: str | None = None
        if add and (body.lstrip().startswith("builder.") or _STARTS_WITH_VAR.match(body)):
            method, project, name, extra = add.group(1), add.group(2), add.group(3), add.group(4)
            kind = KINDS.get(method)
            if kind is None and method.startswith("Azure"):
                kind = "service"
            if kind is not None:
                parent = None
                pm = _STARTS_WITH_VAR.match(body)
                if kind == "database" and pm and pm.group(1) in known:
                    parent = pm.group(1)
                res = AspireResource(
                    var=var,
                    name=name,
                    method=method,
                    kind=kind,
                    line=line_at(body_off + add.start()),
                    project=project.split(".")[-1] if project else None,
                    image=extra if method == "Container" else None,
                    parent=parent,
                )
                app.resources.append(res)
                owner = var or f"@{name}"
                if var:
                    known.add(var)
        elif m:
            # var identityEndpoint = identityApi.GetEndpoint("http")
            em = re.match(r"\s*(\w+)\s*\.\s*GetEndpoint\b", body)
            if em and em.group(1) in known:
                var_of[var or ""] = em.group(1)
            continue
        else:
            sm = _STARTS_WITH_VAR.match(stmt)
            if sm and sm.group(1) in known:
                owner = sm.group(1)
        if owner is None:
            continue
        # references in the rest of the chain
        for call in _CALL.finditer(body):
            cname = call.group(1)
            if (cname.startswith("Add") and call.start() == (add.start() if add else -1)) or cname in _NOT_CALLS:
                continue
            depth, j = 1, call.end()
            while j < len(body) and depth:
                if body[j] == "(":
                    depth += 1
                elif body[j] == ")":
                    depth -= 1
                j += 1
            args = body[call.end() : j - 1]
            env_name = None
            em2 = re.match(r"\s*\"([^\"]*)\"\s*,", args)
            if em2:
                env_name = em2.group(1)
            for ident in re.finditer(r"\b([A-Za-z_]\w*)\b(?!\s*\()", args):
                target = var_of.get(ident.group(1), ident.group(1))
                if target not in known or target == owner:
                    continue
                ref = AspireRef(owner, target, line_at(body_off + call.start()), cname, env_name)
                (app.waits if cname.startswith("WaitFor") else app.refs).append(ref)
                if cname.startswith("With") or cname.startswith("WaitFor"):
                    break  # one resource per WithReference(...); route helpers list several
    return app
