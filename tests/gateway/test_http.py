"""GraphQL over HTTP: media types, status codes, malformed requests — never a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.anyio

GQL = "application/graphql-response+json"


@pytest.mark.parametrize(
    ("body", "accept", "status", "media"),
    [
        ({"query": "{ customer(id: "}, GQL, 400, GQL),
        ({"query": "{ customer(id: "}, "application/json", 200, "application/json"),
        ({"query": "{ nope }"}, GQL, 400, GQL),
        ({"query": "{ nope }"}, None, 200, "application/json"),
        ({"query": "query($x: Int!) { product(sku: $x) { sku } }", "variables": {"x": 1}},
         GQL, 400, GQL),
        ({"query": "{ product(sku: \"NOPE\") { sku } }"}, GQL, 200, GQL),
        ({"query": ""}, GQL, 400, GQL),
        ({"variables": {}}, GQL, 400, GQL),
        ({"query": "{ __typename }", "variables": [1]}, GQL, 400, GQL),
        ([{"query": "{ __typename }"}], GQL, 400, GQL),
    ],
)
async def test_post(gateway: Callable[..., Any], body: Any, accept: str | None, status: int,
                    media: str) -> None:
    headers = {"Accept": accept} if accept else {}
    async with gateway() as client:
        response = await client.post("/graphql", json=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(media)
    payload = response.json()
    request_error = "errors" in payload and "data" not in payload
    # a request that could not run has no data; with the legacy type it is still a 200
    assert request_error == (status == 400 or "nope" in str(body) or "customer(id: " in str(body))


async def test_transport_level_problems(gateway: Callable[..., Any]) -> None:
    async with gateway() as client:
        bad_json = await client.post("/graphql", content=b"{not json",
                                     headers={"Content-Type": "application/json"})
        wrong_type = await client.post("/graphql", content=b"{ __typename }",
                                       headers={"Content-Type": "text/plain"})
        unacceptable = await client.post("/graphql", json={"query": "{ __typename }"},
                                         headers={"Accept": "text/csv"})
        mutation = await client.get("/graphql", params={"query": "mutation { x }"})
        put = await client.put("/graphql", json={"query": "{ __typename }"})
    assert (bad_json.status_code, wrong_type.status_code, unacceptable.status_code) == (
        400, 415, 406)
    assert mutation.status_code == 405 and mutation.headers["allow"] == "POST"
    assert put.status_code == 405
    for response in (bad_json, wrong_type, unacceptable, mutation):
        assert response.json()["errors"][0]["message"]


async def test_a_body_over_the_limit_is_refused_unread(gateway: Callable[..., Any]) -> None:
    big = b'{"query": "{ __typename }", "pad": "' + b"x" * 5000 + b'"}'

    async def chunks() -> Any:  # no Content-Length: the stream is cut at the limit
        for start in range(0, len(big), 1000):
            yield big[start:start + 1000]

    async with gateway(settings={"max_body_bytes": 4096}) as client:
        declared = await client.post("/graphql", content=big,
                                     headers={"Content-Type": "application/json"})
        streamed = await client.post("/graphql", content=chunks(),
                                     headers={"Content-Type": "application/json"})
        small = await client.post("/graphql", json={"query": "{ __typename }"})
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert small.json() == {"data": {"__typename": "Query"}}


async def test_get_runs_queries_and_browsers_get_graphiql(gateway: Callable[..., Any]) -> None:
    async with gateway() as client:
        ok = await client.get("/graphql", params={
            "query": "query($s: String!) { product(sku: $s) { sku } }",
            "variables": '{"s": "NOPE"}'}, headers={"Accept": GQL})
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        asset = await client.get("/graphiql/static/graphiql.min.css")
    assert ok.status_code == 200 and ok.json() == {"data": {"product": None}}
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert "https://" not in page.text
    assert asset.status_code == 200


async def test_bad_arguments_are_user_errors(gateway: Callable[..., Any]) -> None:
    async with gateway() as client:
        both = (await client.post("/graphql", json={
            "query": '{ customer(email: "a@b.co", phone: "1") { id } }'})).json()
        cursor = (await client.post("/graphql", json={
            "query": '{ customers(first: 2, after: "garbage") { totalCount } }'})).json()
        order = (await client.post("/graphql", json={
            "query": '{ order(id: "not-an-id") { number } }'})).json()
    for body in (both, cursor, order):
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("name", ["ana.garcia@example.com", None])
async def test_an_operation_name_naming_no_operation_is_a_bad_request(
        gateway: Callable[..., Any], caplog: pytest.LogCaptureFixture, name: str | None) -> None:
    document = "query A { __typename } query B { __typename }"
    async with gateway() as client:
        response = await client.post("/graphql", json={"query": document,
                                                       "operationName": name})
    assert response.status_code == 200  # application/json: request errors are 200
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "data" not in response.json() and "example.com" not in response.text
    assert not any("example.com" in r.getMessage() or r.exc_info for r in caplog.records)
