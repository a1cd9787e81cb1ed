"""The GraphiQL page loads nothing from outside the gateway.

The page's own references (attributes, CSS ``url()``, script ``import``/``fetch`` targets) must all
be local; every static file it names must be vendored; and the vendored bundles must not load from
a CDN or font service themselves. That GraphiQL really renders offline is checked by hand with a
headless browser (see ``gateway/graphiql/static/README.md``); these tests need no browser.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.graphiql import STATIC_DIR, STATIC_FILES, STATIC_URL, graphiql_html, wants_page

ACCEPT = "application/graphql-response+json, application/json"
CDN_HOSTS = re.compile(
    r"https?://unpkg|unpkg\.com|cdn\.jsdelivr|fonts\.googleapis|fonts\.gstatic|cdnjs\.cloudflare",
    re.IGNORECASE,
)
# Absolute URLs that do occur in the vendored bundles, none of them ever fetched: the SVG/XLink
# namespace names; links in license banners, comments and error messages (React's error decoder);
# and two <a href> links a person may click (CodeMirror's key map manual, GraphiQL's repository).
NEVER_FETCHED_HOSTS = {
    "www.w3.org",
    "github.com",
    "en.wikipedia.org",
    "commonmark.org",
    "codemirror.net",
    "reactjs.org",
}
VENDORED_CODE = (
    "graphiql.min.js",
    "graphiql.min.css",
    "react.production.min.js",
    "react-dom.production.min.js",
)


class _Page(HTMLParser):
    """Collects every URL-bearing attribute and the text of inline scripts and styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.meta: dict[str, str] = {}
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name in ("src", "href", "action", "poster", "data", "srcset"):
            if name in values:
                self.refs.append((tag, name, values[name]))
        if tag == "meta" and "http-equiv" in values:
            self.meta[values["http-equiv"].lower()] = values.get("content", "")
        if tag in ("script", "style"):
            self._in = tag
            if tag == "script" and "src" not in values:
                self.scripts.append("")
            if tag == "style":
                self.styles.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script" and self.scripts:
            self.scripts[-1] += data
        elif self._in == "style":
            self.styles[-1] += data


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


def _script_targets(script: str) -> list[tuple[str, str]]:
    """String literals a script imports, fetches, points a fetcher at (``load``) or links to
    (``link``: an ``href``, followed only when a person clicks it)."""
    literal = r"""\s*["'`]([^"'`]*)["'`]"""
    patterns = (
        ("load", r"\bimport\s*\(" + literal),
        ("load", r"\bimport\b[^;\"'`]*?\bfrom" + literal),
        ("load", r"\bimport" + literal),
        ("load", r"\bimportScripts\s*\(" + literal),
        ("load", r"\bfetch\s*\(" + literal),
        ("load", r"\bnew\s+(?:Shared)?Worker\s*\(" + literal),
        ("load", r"\bnew\s+(?:WebSocket|EventSource)\s*\(" + literal),
        ("load", r"\b(?:url|subscriptionUrl|src)\s*[:=]" + literal),
        ("link", r"\bhref\s*[:=]" + literal),
    )
    return [(kind, m.group(1)) for kind, p in patterns for m in re.finditer(p, script)]


def _css_targets(css: str) -> list[str]:
    urls = [m.group(1).strip().strip("'\"") for m in re.finditer(r"url\(([^)]*)\)", css)]
    imports = [m.group(1) for m in re.finditer(r"""@import\s+["']([^"']+)["']""", css)]
    return urls + imports


def _is_external(target: str) -> bool:
    """An absolute or protocol-relative URL with a host (a bare ``"http://"`` prefix is not)."""
    return re.match(r"(?:(?:https?|wss?|ftp):)?//[^/\s]", target.strip(), re.IGNORECASE) is not None


def _host(url: str) -> str:
    return re.sub(r"^[a-z]*:?//", "", url.strip(), flags=re.IGNORECASE).split("/")[0].lower()


@pytest.fixture(scope="module")
def page() -> str:
    return graphiql_html()


@pytest.fixture(scope="module")
def parsed(page: str) -> _Page:
    return _parse(page)


def test_the_page_references_only_local_paths(page: str, parsed: _Page) -> None:
    script_targets = [t for script in parsed.scripts for _, t in _script_targets(script)]
    css_targets = [t for style in parsed.styles for t in _css_targets(style)]
    targets = [value for _, _, value in parsed.refs] + script_targets + css_targets
    assert "/graphql" in script_targets  # the fetcher's endpoint is among what was parsed
    assert len(parsed.refs) == len(STATIC_FILES) + 1  # the assets and the data: favicon
    assert [t for t in targets if _is_external(t)] == []
    # Belt and braces: no absolute or protocol-relative URL anywhere in the page text.
    assert "://" not in page
    assert re.search(r"""["'(]\s*//""", page) is None


def test_every_referenced_static_file_is_vendored(parsed: _Page) -> None:
    local = [value for _, _, value in parsed.refs if not value.startswith("data:")]
    assert all(value.startswith(f"{STATIC_URL}/") for value in local)
    names = [value.removeprefix(f"{STATIC_URL}/") for value in local]
    assert sorted(names) == sorted(STATIC_FILES)
    for name in names:
        assert (STATIC_DIR / name).is_file(), name


def test_react_loads_before_graphiql(parsed: _Page) -> None:
    scripts = [value for tag, _, value in parsed.refs if tag == "script"]
    assert scripts == [
        f"{STATIC_URL}/{name}"
        for name in ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js")
    ]


def test_the_static_dir_holds_only_what_the_page_needs() -> None:
    present = {path.name for path in STATIC_DIR.iterdir()}
    expected = set(STATIC_FILES) | {
        "README.md",
        "LICENSE.graphiql",
        "LICENSE.react",
        "LICENSE.react-dom",
    }
    assert present == expected
    total = sum(path.stat().st_size for path in STATIC_DIR.iterdir())
    assert total < 2_000_000


@pytest.mark.parametrize("name", VENDORED_CODE)
def test_vendored_files_match_their_recorded_checksums(name: str) -> None:
    readme = (STATIC_DIR / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith(f"| `{name}` |"))
    size, sha = re.findall(r"\| (\d+) \| `([0-9a-f]{64})` \|$", row)[0]
    data = (STATIC_DIR / name).read_bytes()
    assert len(data) == int(size)
    assert hashlib.sha256(data).hexdigest() == sha


@pytest.mark.parametrize("name", VENDORED_CODE)
def test_vendored_code_loads_nothing_from_a_cdn(name: str) -> None:
    text = (STATIC_DIR / name).read_text(encoding="utf-8")
    assert CDN_HOSTS.search(text) is None
    hosts = {m.group(1).lower() for m in re.finditer(r"https?://([A-Za-z0-9.-]+)", text)}
    assert hosts <= NEVER_FETCHED_HOSTS, hosts - NEVER_FETCHED_HOSTS
    # No protocol-relative URL literal (a "//host/..." string would load over the network).
    assert re.search(r"""["'`(]//[A-Za-z0-9-]+\.[A-Za-z]{2,}""", text) is None
    if name.endswith(".css"):
        targets = _css_targets(text)
        assert targets, "the fonts are inlined as data: URLs"
        assert [t for t in targets if not t.startswith("data:")] == []
        assert "@import" not in text
    else:
        external = [(kind, t) for kind, t in _script_targets(text) if _is_external(t)]
        assert [t for kind, t in external if kind == "load"] == []
        assert {_host(t) for _, t in external} <= NEVER_FETCHED_HOSTS


def test_w3_urls_in_the_bundle_are_only_namespace_names() -> None:
    text = (STATIC_DIR / "graphiql.min.js").read_text(encoding="utf-8")
    w3 = {m.group(0) for m in re.finditer(r"https?://www\.w3\.org/[A-Za-z0-9/.]*", text)}
    assert w3 <= {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
        "http://www.w3.org/1999/xhtml",
        "http://www.w3.org/1998/Math/MathML",
        "http://www.w3.org/XML/1998/namespace",
    }


def test_the_fetcher_posts_json_to_the_endpoint_with_graphql_accept(parsed: _Page) -> None:
    (script,) = parsed.scripts
    assert "GraphiQL.createFetcher(" in script
    assert 'url: "/graphql"' in script
    assert f'accept: "{ACCEPT}"' in script
    # Plain JSON POST (createFetcher's default), not the multipart incremental-delivery fetcher
    # that would send its own Accept header.
    assert "enableIncrementalDelivery: false" in script


def test_docs_explorer_history_and_default_query(parsed: _Page) -> None:
    (script,) = parsed.scripts
    assert "visiblePlugin: GraphiQL.React.DOC_EXPLORER_PLUGIN" in script
    assert "storage: GraphiQL.createLocalStorage(" in script
    assert "maxHistoryLength:" in script
    default_query = re.search(r'defaultQuery: ("(?:[^"\\]|\\.)*")', script)
    assert default_query is not None
    assert "c360" in default_query.group(1)
    assert "Shopify" in default_query.group(1)
    assert 'React.createElement(GraphiQL.Logo, null, "c360 GraphiQL")' in script


def test_the_csp_allows_only_the_gateway_and_the_inline_script(parsed: _Page) -> None:
    csp = parsed.meta["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["connect-src"] == "'self'"
    assert directives["font-src"] == "'self' data:"
    (script,) = parsed.scripts
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert directives["script-src"] == f"'self' 'sha256-{digest}'"
    assert "://" not in csp


def test_endpoint_and_title_are_escaped() -> None:
    evil = graphiql_html(
        endpoint='/graphql?x="</script><script>alert(1)//', title="<b>c360</b> & co"
    )
    parsed = _parse(evil)
    assert len(parsed.scripts) == 1
    assert "</script><script>alert" not in evil
    assert "<b>c360" not in parsed.scripts[0]  # the logo text is a JS string with "<" escaped
    assert "<title>&lt;b&gt;c360&lt;/b&gt; &amp; co</title>" in evil


def _editor_headers(script: str) -> str:
    found = re.search(r'defaultHeaders: ("(?:[^"\\]|\\.)*")', script)
    assert found is not None
    return str(json.loads(found.group(1)))


def test_headers_prefill_the_headers_tab_only_when_given(parsed: _Page) -> None:
    (bare,) = parsed.scripts
    assert _editor_headers(bare) == "" and "Authorization" not in bare
    given = _parse(graphiql_html(headers={"Authorization": "Bearer abc</script><b>"}))
    (script,) = given.scripts
    assert json.loads(_editor_headers(script)) == {"Authorization": "Bearer abc</script><b>"}
    assert "</script><b>" not in script  # "<" escaped inside the JS string
    assert "shouldPersistHeaders: false" in script  # the token is not kept in localStorage


@pytest.mark.parametrize(("method", "query_string", "accept", "page"), [
    ("GET", b"", [b"text/html,application/xhtml+xml"], True),
    ("GET", b"x=1", [b"text/html"], True),
    ("GET", b"", [b"application/json"], False),
    ("GET", b"", [], False),
    ("POST", b"", [b"text/html"], False),
    ("GET", b"query=%7Bx%7D", [b"text/html"], False),
    ("GET", b"%71uery=%7Bx%7D", [b"text/html"], False),
    ("GET", b"query", [b"text/html"], False),
    ("GET", b"", [b"application/json", b"text/html"], False),
])
def test_what_asks_for_the_page(method: str, query_string: bytes, accept: list[bytes],
                                page: bool) -> None:
    scope = {"type": "http", "method": method, "query_string": query_string,
             "headers": [(b"accept", value) for value in accept]}
    assert wants_page(scope) is page


def test_an_absolute_endpoint_is_the_only_other_origin_allowed() -> None:
    parsed = _parse(graphiql_html(endpoint="http://127.0.0.1:8000/graphql"))
    csp = parsed.meta["content-security-policy"]
    assert "connect-src 'self' http://127.0.0.1:8000;" in csp


@pytest.mark.anyio
async def test_the_page_and_its_files_serve_from_a_starlette_mount() -> None:
    async def graphiql(request: Request) -> HTMLResponse:
        return HTMLResponse(graphiql_html())

    app = Starlette(
        routes=[Route("/graphiql", graphiql), Mount(STATIC_URL, StaticFiles(directory=STATIC_DIR))]
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        response = await client.get("/graphiql")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        for tag, _, value in _parse(response.text).refs:
            if value.startswith("data:"):
                continue
            asset = await client.get(value)
            assert asset.status_code == 200, value
            kind = "text/css" if tag == "link" else "javascript"
            assert kind in asset.headers["content-type"], (value, asset.headers["content-type"])
            assert asset.content == (STATIC_DIR / value.rsplit("/", 1)[1]).read_bytes()
