from __future__ import annotations

import orjson

from silos.shopify import ShopifySiloConfig
from silos.shopify.errors import (
    fault_responses,
    invalid_value,
    missing_root,
    refused_with_page_info,
)


def test_fault_responses_are_shopify_shaped() -> None:
    faults = fault_responses(ShopifySiloConfig(leak_rate=4.0, retry_after=4.0))
    limited = faults.rate_limited()
    assert limited.status_code == 429 and limited.headers["retry-after"] == "4.0"
    assert orjson.loads(limited.body) == {
        "errors": "Exceeded 4 calls per second for api client. "
        "Reduce request rates to resume uninterrupted service."
    }
    failed = faults.server_error()
    assert (failed.status_code, orjson.loads(failed.body)) == (
        500,
        {"errors": "Internal Server Error"},
    )
    down = faults.unavailable()
    assert down.status_code == 503
    assert down.headers["content-type"].startswith("text/html")


def test_bad_request_bodies() -> None:
    assert invalid_value("limit").errors == {"limit": "Invalid value."}
    assert missing_root("order").errors == {"order": "Required parameter missing or invalid"}
    assert refused_with_page_info("status").errors == {
        "status": "status cannot be passed when page_info is present. "
        "See https://shopify.dev/api/usage/pagination-rest for more information."
    }
