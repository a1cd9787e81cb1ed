"""GraphiQL served from vendored files: the page loads nothing from outside the gateway.

strawberry's built-in GraphiQL page loads React and GraphiQL from a CDN, which an offline machine
cannot reach. This package ships GraphiQL 3.9.0 and React 18.3.1 (see ``static/README.md``) and
builds the page around them. The gateway mounts :data:`STATIC_DIR` with Starlette ``StaticFiles``
at :data:`STATIC_URL` and answers the GraphiQL route with :func:`graphiql_html`.

The page also carries a Content-Security-Policy that only allows its own origin (plus ``data:``
for the fonts inlined in the CSS), so a browser refuses any stray external load outright.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from starlette.datastructures import Headers, QueryParams
from starlette.types import Scope

__all__ = ["STATIC_DIR", "STATIC_FILES", "STATIC_URL", "graphiql_html", "wants_page"]

STATIC_DIR: Path = Path(__file__).resolve().parent / "static"
"""The vendored GraphiQL/React files (with their licenses and provenance README)."""

STATIC_URL = "/graphiql/static"
"""Where the gateway mounts :data:`STATIC_DIR`; the page's asset URLs start with it."""

STATIC_FILES: tuple[str, ...] = (
    "graphiql.min.css",
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
)
"""The files the page loads, in load order (React before GraphiQL's UMD build)."""

ACCEPT = "application/graphql-response+json, application/json"
STORAGE_NAMESPACE = "c360-graphiql"

DEFAULT_QUERY = """\
# Welcome to c360, the customer-360 GraphQL gateway.
#
# One GraphQL schema (customers, orders, inventory,
# helpdesk interactions, loyalty) in front of the
# retailer's e-commerce (Shopify), point of sale
# (Square), helpdesk (Zendesk) and loyalty systems,
# without migrating their data: each field is resolved
# live from the system that owns it, and a customer is
# one person across all of them.
#
# Docs (book icon, left): browse the schema.
# History (clock icon): your earlier queries.
# Ctrl-Space: complete.  Ctrl-Enter: run.
# Request headers go in the Headers tab below.

{
  __typename
}
"""


def wants_page(scope: Scope) -> bool:
    """Whether a request to the GraphQL route asks for the GraphiQL page: a browser's ``GET``
    (``Accept`` has ``text/html``) with no ``query`` parameter. The authentication middleware
    lets exactly these through without a credential and the endpoint answers exactly these with
    the page, so both read the request the same way (decoded parameter names, the first
    ``Accept``): a request cannot pass as one and be executed as the other."""
    if scope.get("method") != "GET":
        return False
    if "query" in QueryParams(scope.get("query_string", b"")):
        return False
    return "text/html" in Headers(scope=scope).get("accept", "")


def _script(endpoint: str, title: str, headers: Mapping[str, str] | None = None) -> str:
    # json.dumps gives valid JS literals; "<" is escaped so no value can close the <script>.
    def js(value: object) -> str:
        return json.dumps(value).replace("<", "\\u003c")

    editor_headers = json.dumps(dict(headers), indent=2) if headers else ""
    return f"""
(function () {{
  "use strict";
  var fetcher = GraphiQL.createFetcher({{
    url: {js(endpoint)},
    enableIncrementalDelivery: false,
    headers: {{ accept: {js(ACCEPT)} }}
  }});
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {{
      fetcher: fetcher,
      defaultQuery: {js(DEFAULT_QUERY)},
      defaultHeaders: {js(editor_headers)},
      headers: {js(editor_headers)},
      storage: GraphiQL.createLocalStorage({{ namespace: {js(STORAGE_NAMESPACE)} }}),
      visiblePlugin: GraphiQL.React.DOC_EXPLORER_PLUGIN,
      maxHistoryLength: 50,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: true
    }},
    // Our own logo text: the default one links out to GraphiQL's repository.
    React.createElement(GraphiQL.Logo, null, {js(title)}))
  );
}})();
"""


def _csp(endpoint: str, script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    connect = "'self'"
    parts = urlsplit(endpoint)
    if parts.scheme and parts.netloc:  # an absolute endpoint on another origin: allow just it
        connect += f" {parts.scheme}://{parts.netloc}"
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src 'self' 'sha256-{digest}'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            f"connect-src {connect}",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )


def graphiql_html(endpoint: str = "/graphql", title: str = "c360 GraphiQL",
                  headers: Mapping[str, str] | None = None) -> str:
    """The GraphiQL page for ``endpoint``, loading only files under :data:`STATIC_URL`.

    Queries are POSTed as JSON with ``Accept: application/graphql-response+json,
    application/json``; the docs explorer is open on load, the history is kept in the
    browser's localStorage under its own namespace, and ``title`` is both the page title and the
    logo text. ``headers`` prefill the Headers tab (the demo's token); never pass a
    production credential: the page is served without authentication.
    """
    script = _script(endpoint, title, headers)
    css, react, react_dom, graphiql = (f"{STATIC_URL}/{name}" for name in STATIC_FILES)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{html.escape(_csp(endpoint, script))}">
<meta name="referrer" content="no-referrer">
<title>{html.escape(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{css}">
<style>
html, body {{ height: 100%; margin: 0; overflow: hidden; }}
#graphiql {{ height: 100vh; }}
</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="{react}"></script>
<script src="{react_dom}"></script>
<script src="{graphiql}"></script>
<script>{script}</script>
</body>
</html>
"""
