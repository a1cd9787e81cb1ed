"""The shape comparison itself must catch what the contract tests rely on it to catch."""

from __future__ import annotations

from typing import Any

import pytest

from tests.shapes import (
    as_json,
    assert_all_met,
    assert_same_shape,
    covered,
    shape_differences,
)


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
    assert shape_differences({"a": 1}, {"a": 1.5})[0] == ["$.a: integer here, number at the vendor"]


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


def test_each_element_is_compared_with_every_vendor_element() -> None:
    vendor = [{"a": 1, "b": "x"}, {"a": 1, "b": "x", "c": None}]
    assert shape_differences([{"a": 2, "b": "y", "c": 3}], vendor)[0] == [
        "$[].c: not in the vendor payload"
    ]
    assert shape_differences([{"a": 2, "b": "y", "c": 3}, {"a": 2, "c": 3}], vendor)[0] == [
        "$[].b: missing here",
        "$[].c: not in the vendor payload",
    ]
    assert shape_differences({"a": [], "b": [1]}, {"a": [{"x": 1}], "b": []})[0] == []


def test_declared_differences_must_occur() -> None:
    assert_same_shape({"a": 1, "b": 2}, {"a": 1}, added={"$.b": "ours only"})
    with pytest.raises(AssertionError, match="did not occur"):
        assert_same_shape({"a": 1}, {"a": 1}, omitted={"$.z": "never there"})
    with pytest.raises(AssertionError, match="shape differences"):
        assert_same_shape({"a": 1}, {"a": 1, "z": 2}, added={"$.z": "declared the wrong way"})


def test_declared_differences_may_be_met_across_comparisons() -> None:
    omitted = {"$.x": "first payload only", "$.y": "second payload only"}
    met: set[str] = set()
    for vendor in ({"a": 1, "x": 1}, {"a": 1, "y": 1}):
        differences, found = shape_differences({"a": 1}, vendor, omitted)
        assert differences == []
        met |= found
    assert_all_met(met, omitted)
    with pytest.raises(AssertionError, match=r"\$\.y"):
        assert_all_met({"$.x"}, omitted)


def test_merged_elements_detect_differences() -> None:
    found, _ = shape_differences(
        {"a": 1, "b": [{"c": "x"}], "extra": True},
        {"a": "1", "b": [{"c": "x", "d": 2}], "e": None},
        merge_elements=True,
    )
    assert found == [
        "$.a: integer here, string at the vendor",
        "$.b[].d: missing here",
        "$.e: missing here",
        "$.extra: not in the vendor payload",
    ]
    empty: dict[str, Any] = {"a": None, "b": []}
    assert shape_differences(empty, {"a": {"x": 1}, "b": [{"y": 1}]}, merge_elements=True)[0] == []
    assert shape_differences({"x": 1}, {}, allow_extra=True, merge_elements=True)[0] == []


def test_merged_elements_count_optional_keys_once() -> None:
    ours: list[dict[str, Any]] = [{"id": "a", "note": "n"}, {"id": "b"}]
    vendor = [{"id": "c"}, {"id": "d", "note": "m", "tags": ["x"]}]
    assert shape_differences(ours, vendor, merge_elements=True)[0] == ["$[].tags: missing here"]
    assert shape_differences(ours, vendor)[0] == [
        "$[].note: missing here",
        "$[].note: not in the vendor payload",
        "$[].tags: missing here",
    ]
    mixed = [{"v": 1}, {"v": "1"}]
    assert shape_differences([{"v": 2}], mixed, merge_elements=True)[0] == [
        "$[].v: integer here, integer|string at the vendor"
    ]


def test_covered_names_vendor_lists_left_unchecked() -> None:
    ours: dict[str, Any] = {"lines": [], "items": [{"tags": []}], "absent": None}
    theirs = {"lines": [{"a": 1}], "items": [{"tags": ["x"]}], "absent": [1]}
    assert sorted(covered(ours, theirs)) == ["$.items[].tags[]", "$.lines[]"]
    assert covered({"lines": [{"a": 1}]}, {"lines": [{"a": 2}]}) == []


def test_as_json_is_what_goes_on_the_wire() -> None:
    shared = {"x": (1, 2)}
    assert as_json({"a": shared, "b": shared}) == {"a": {"x": [1, 2]}, "b": {"x": [1, 2]}}
