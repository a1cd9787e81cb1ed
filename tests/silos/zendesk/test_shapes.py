"""The shape comparison itself must catch what the contract tests rely on it to catch."""

from __future__ import annotations

import pytest

from tests.silos.zendesk.shapes import assert_same_shape, shape_differences


def test_missing_extra_and_mistyped_keys_are_reported() -> None:
    differences, _ = shape_differences(
        {"id": "1", "extra": True, "nested": {"a": 1}},
        {"id": 1, "gone": None, "nested": {"a": 1, "b": [1]}},
    )
    assert sorted(differences) == [
        "$.extra: not in the vendor payload",
        "$.gone: missing here",
        "$.id: string here, integer at the vendor",
        "$.nested.b: missing here",
    ]


def test_null_is_compatible_and_booleans_are_not_integers() -> None:
    assert shape_differences({"a": None, "b": 1}, {"a": {"x": 1}, "b": None})[0] == []
    assert shape_differences({"a": True}, {"a": 1})[0] == [
        "$.a: boolean here, integer at the vendor"
    ]


def test_list_elements_are_matched_by_type_and_field_name() -> None:
    vendor = [
        {"type": "Create", "field_name": "subject", "value": "x"},
        {"type": "Create", "field_name": "tags", "value": ["a"]},
    ]
    assert (
        shape_differences([{"type": "Create", "field_name": "tags", "value": ["b"]}], vendor)[0]
        == []
    )
    assert shape_differences([{"type": "Change", "value": "x"}], vendor)[0] == [
        "$[].field_name: missing here"
    ]


def test_declared_differences_must_occur() -> None:
    assert_same_shape({"a": 1, "b": 2}, {"a": 1}, added={"$.b": "ours only"})
    with pytest.raises(AssertionError, match="did not occur"):
        assert_same_shape({"a": 1}, {"a": 1}, omitted={"$.z": "never there"})
