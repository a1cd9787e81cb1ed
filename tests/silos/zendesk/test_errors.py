"""Zendesk's error envelopes and the silo's fault responses."""

from __future__ import annotations

from silos.zendesk.errors import (
    RATE_LIMITED_TEXT,
    InvalidPaginationDepthError,
    ParameterMissingError,
    TooManyValuesError,
    ZendeskNotFoundError,
    ZendeskValidationError,
    fault_responses,
    malformed_body,
    unauthenticated,
)


def test_validation_error_body_maps_fields_to_problems() -> None:
    error = ZendeskValidationError.one("email", "Email: x is already being used", "DuplicateValue")
    response = error.response()
    assert response.status_code == 422
    assert error.body() == {
        "error": "RecordInvalid",
        "description": "Record validation errors",
        "details": {
            "email": [{"description": "Email: x is already being used", "error": "DuplicateValue"}]
        },
    }


def test_typed_errors_know_their_status_and_body() -> None:
    assert ZendeskNotFoundError(5).response().status_code == 404
    assert ZendeskNotFoundError(5).body() == {"error": "RecordNotFound", "description": "Not found"}
    too_many = TooManyValuesError("ids", 100)
    assert too_many.response().status_code == 400
    assert too_many.body() == {
        "error": "TooManyValues",
        "description": "Parameter ids cannot specify more than 100 values",
        "max_count": 100,
    }
    assert ParameterMissingError("ticket").body()["error"] == "ParameterMissing"
    depth = InvalidPaginationDepthError().body()
    assert depth["errors"][0]["code"] == "InvalidPaginationDepth"


def test_unauthenticated_and_malformed_bodies() -> None:
    response = unauthenticated()
    assert response.status_code == 401
    assert response.body == b'{"error":"Couldn\'t authenticate you"}'
    malformed = malformed_body()
    assert malformed.status_code == 400
    assert malformed.headers["content-type"].startswith("text/plain")


def test_fault_responses_are_plain_text_with_retry_after() -> None:
    faults = fault_responses(42)
    limited = faults.rate_limited()
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "42"
    assert limited.headers["content-type"].startswith("text/plain")
    assert limited.body == RATE_LIMITED_TEXT.encode()
    failed = faults.server_error()
    assert failed.status_code == 500
    assert failed.headers["content-type"].startswith("text/plain")
    down = faults.unavailable()
    assert down.status_code == 503
    assert down.headers["retry-after"] == "42"
