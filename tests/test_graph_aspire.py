""".NET Aspire AppHost: resources and references read statically into the service graph."""

from __future__ import annotations

from _graph_support import edges, graph_of

from qualscan.model import NodeKind
from qualscan.parsers.aspire import parse_apphost

APPHOST = """var builder = DistributedApplication.CreateBuilder(args);

var redis = builder.AddRedis("redis");
var bus = builder.AddRabbitMQ("eventbus")
    .WithLifetime(ContainerLifetime.Persistent);
var postgres = builder.AddPostgres("postgres");
var catalogDb = postgres.AddDatabase("catalogdb"); // a database on the postgres server
var orderDb = postgres.AddDatabase("orderingdb");

var identityApi = builder.AddProject<Projects.Identity_API>("identity-api");
var identityEndpoint = identityApi.GetEndpoint("https");

var basketApi = builder.AddProject<Projects.Basket_API>("basket-api")
    .WithReference(redis)
    .WithReference(bus).WaitFor(bus)
    .WithEnvironment("Identity__Url", identityEndpoint);

var catalogApi = builder.AddProject<Projects.Catalog_API>("catalog-api")
    .WithReference(catalogDb);

var orderingApi = builder.AddProject<Projects.Ordering_API>("ordering-api")
    .WithReference(orderDb);

builder.AddYarp("mobile-bff")
    .ConfigureRoutes(catalogApi, orderingApi);

/* builder.AddProject<Projects.Old>("old").WithReference(redis); */
identityApi.WithEnvironment("BasketApiClient", basketApi.GetEndpoint("http"));

builder.Build().Run();
"""


def test_parse_apphost_resources_and_references() -> None:
    app = parse_apphost(APPHOST, "src/AppHost/Program.cs")
    assert [(r.name, r.kind, r.line, r.project) for r in app.resources] == [
        ("redis", "datastore", 3, None),
        ("eventbus", "broker", 4, None),
        ("postgres", "datastore", 6, None),
        ("catalogdb", "database", 7, None),
        ("orderingdb", "database", 8, None),
        ("identity-api", "service", 10, "Identity_API"),
        ("basket-api", "service", 13, "Basket_API"),
        ("catalog-api", "service", 18, "Catalog_API"),
        ("ordering-api", "service", 21, "Ordering_API"),
        ("mobile-bff", "gateway", 24, None),
    ]
    assert [(r.source, r.target, r.line, r.method) for r in app.refs] == [
        ("basketApi", "redis", 14, "WithReference"),
        ("basketApi", "bus", 15, "WithReference"),
        ("basketApi", "identityApi", 16, "WithEnvironment"),
        ("catalogApi", "catalogDb", 19, "WithReference"),
        ("orderingApi", "orderDb", 22, "WithReference"),
        ("@mobile-bff", "catalogApi", 25, "ConfigureRoutes"),
        ("@mobile-bff", "orderingApi", 25, "ConfigureRoutes"),
        ("identityApi", "basketApi", 28, "WithEnvironment"),
    ]
    assert [(w.source, w.target) for w in app.waits] == [("basketApi", "bus")]


def test_apphost_builds_the_graph_with_databases_on_their_server() -> None:
    files = {
        "src/AppHost/AppHost.csproj": "<Project/>\n",
        "src/AppHost/Program.cs": APPHOST,
        "src/Basket.API/Basket.API.csproj": "<Project/>\n",
        "src/Catalog.API/Catalog.API.csproj": "<Project/>\n",
        "src/Ordering.API/Ordering.API.csproj": "<Project/>\n",
        "src/Identity.API/Identity.API.csproj": "<Project/>\n",
    }
    model = graph_of(files)
    assert edges(model) == {
        ("Basket.API", "redis", "redis", True),
        ("Basket.API", "eventbus", "amqp", False),
        ("Basket.API", "Identity.API", "http", True),
        ("Catalog.API", "postgres", "sql", True),
        ("Ordering.API", "postgres", "sql", True),
        ("mobile-bff", "Catalog.API", "http", True),
        ("mobile-bff", "Ordering.API", "http", True),
    }  # identity's callback-URL environment is not a call
    kinds = {s.name: s.kind for s in model.services}
    assert (kinds["postgres"], kinds["eventbus"], kinds["mobile-bff"]) == (NodeKind.DATASTORE, NodeKind.BROKER, NodeKind.GATEWAY)
    assert model.node_location("postgres") == ("src/AppHost/Program.cs", 6)
    assert [(ev.file, ev.line, ev.kind) for ev in model.edge("Catalog.API", "postgres").evidence] == [("src/AppHost/Program.cs", 19, "apphost")]
