from __future__ import annotations

import orjson

from silos.square.errors import SquareError, bad_request, fault_responses, not_found


def test_error_envelope() -> None:
    error = bad_request("MISSING_REQUIRED_PARAMETER", "Field must be set", "idempotency_key")
    assert error.status == 400
    assert error.body() == {
        "errors": [
            {
                "category": "INVALID_REQUEST_ERROR",
                "code": "MISSING_REQUIRED_PARAMETER",
                "detail": "Field must be set",
                "field": "idempotency_key",
            }
        ]
    }
    assert "field" not in not_found("Customer with ID `X` not found.").error()


def test_fault_responses_use_square_codes() -> None:
    responses = fault_responses()
    expected = {
        "rate_limited": (429, "RATE_LIMIT_ERROR", "RATE_LIMITED"),
        "server_error": (500, "API_ERROR", "INTERNAL_SERVER_ERROR"),
        "unavailable": (503, "API_ERROR", "SERVICE_UNAVAILABLE"),
    }
    for name, (status, category, code) in expected.items():
        response = getattr(responses, name)()
        assert response.status_code == status
        (error,) = orjson.loads(response.body)["errors"]
        assert (error["category"], error["code"]) == (category, code)
        assert isinstance(error["detail"], str) and error["detail"]


def test_square_error_is_an_exception() -> None:
    assert isinstance(not_found("x"), SquareError)
    assert not_found("x").response().status_code == 404
