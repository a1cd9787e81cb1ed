"""The production transport (aiohttp under httpx) over real sockets: what adapters send arrives,
what servers answer comes back, and each failure is the error a slow or a down silo should be."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest

from adapters.errors import UpstreamTimeout, UpstreamUnavailable
from adapters.http import RetryPolicy, VendorHTTP
from adapters.transport import PooledTransport

pytestmark = pytest.mark.anyio

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Server:
    """A loopback HTTP/1.1 server whose handler is each test's; counts connections."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[tuple[str, dict[str, str], bytes]] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer)
        finally:
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> bool:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return False
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":")
                                                         for line in lines[1:] if line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append((lines[0], headers, body))
        return True


def answer(status: int, body: bytes, *extra: str) -> bytes:
    head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}",
            "Content-Type: application/json", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[tuple[Server, str]]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> tuple[Server, str]:
        server = Server(handler)
        listening = await asyncio.start_server(server.serve, "127.0.0.1", 0)
        servers.append(listening)
        port = listening.sockets[0].getsockname()[1]
        return server, f"http://127.0.0.1:{port}"

    yield start
    for listening in servers:
        listening.close()
        await listening.wait_closed()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    async with httpx.AsyncClient(transport=PooledTransport(limits), limits=limits) as c:
        yield c


def vendor(client: httpx.AsyncClient, url: str, timeout: float = 2.0) -> VendorHTTP:
    return VendorHTTP("shop", client, base_url=url, headers={"X-Token": "t"}, timeout=timeout,
                      retry=RetryPolicy(attempts=1))


async def test_requests_and_answers_round_trip_on_kept_alive_connections(
        serve: Callable[[Handler], Awaitable[tuple[Server, str]]],
        client: httpx.AsyncClient) -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await server.read_request(reader):
            line, headers, body = server.requests[-1]
            payload = orjson.dumps({"line": line, "token": headers.get("x-token"),
                                    "body": body.decode()})
            writer.write(answer(200, gzip.compress(payload), "Content-Encoding: gzip"))
            await writer.drain()

    server, url = await serve(echo)
    http = vendor(client, url)
    params = {"ids": "1,2", "query": 'email:"bob+x@example.com" name:José', "fields": "id"}
    got, response = await http.get_json("/orders.json", params)
    method, target, _ = got["line"].split(" ")
    assert (method, urlsplit(target).path, got["token"]) == ("GET", "/orders.json", "t")
    assert parse_qs(urlsplit(target).query) == {k: [v] for k, v in params.items()}
    assert response.headers["content-encoding"] == "gzip"
    posted = await http.read_post_json("/v2/orders/search", {"query": {"ids": ["é"]}})
    assert orjson.loads(posted["body"]) == {"query": {"ids": ["é"]}}
    assert server.requests[-1][1]["content-type"] == "application/json"
    for _ in range(20):
        await http.get_json("/again")
    assert server.connections == 1


async def test_a_refused_connection_is_unavailable_not_a_timeout(
        serve: Callable[[Handler], Awaitable[tuple[Server, str]]],
        client: httpx.AsyncClient) -> None:
    async def nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        return None

    _, url = await serve(nothing)
    closed = url.rsplit(":", 1)[0] + ":1"
    with pytest.raises(UpstreamUnavailable, match="shop: GET /x failed: ConnectError"):
        await vendor(client, closed).get_json("/x")


async def test_a_dropped_connection_is_unavailable(
        serve: Callable[[Handler], Awaitable[tuple[Server, str]]],
        client: httpx.AsyncClient) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"half\":")
        await writer.drain()

    server, url = await serve(hang_up)
    with pytest.raises(UpstreamUnavailable) as caught:
        await vendor(client, url).get_json("/x")
    assert not isinstance(caught.value, UpstreamTimeout)


async def test_a_slow_answer_is_a_timeout(
        serve: Callable[[Handler], Awaitable[tuple[Server, str]]],
        client: httpx.AsyncClient) -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        await asyncio.sleep(1.0)
        writer.write(answer(200, b"{}"))
        await writer.drain()

    server, url = await serve(slow)
    with pytest.raises(UpstreamTimeout, match="shop: GET /x timed out"):
        await vendor(client, url, timeout=0.1).get_json("/x")


async def test_statuses_and_headers_pass_through(
        serve: Callable[[Handler], Awaitable[tuple[Server, str]]],
        client: httpx.AsyncClient) -> None:
    async def limited(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await server.read_request(reader):
            writer.write(answer(429, b'{"errors":"slow down"}', "Retry-After: 7"))
            await writer.drain()

    server, url = await serve(limited)
    response = await client.get(url + "/x")
    assert (response.status_code, response.headers["retry-after"]) == (429, "7")
    assert response.json() == {"errors": "slow down"}
