"""Generic JSON bodies onto inbound events by a mapping, and the mapping's own checks: pure
functions, no database."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonpath_ng import parse

from escalate.alerts import generic
from escalate.alerts.models import AlertAction, IntegrationKind, Severity
from escalate.alerts.paths import (
    CompiledPath,
    PathEvaluationError,
    PathSyntaxError,
    compile_path,
)
from escalate.alerts.schemas import GenericMapping, validate_mapping
from escalate.errors import ValidationFailed

BODY: dict[str, Any] = {
    "alert": {"name": "Disk full", "level": "P1"},
    "tags": ["env:prod", "team=storage", "urgent"],
    "alerts": [{"labels": {"host": "db-1", "port": 5432}}],
    "state": "CLEARED",
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("alert.name", "Disk full"),
        ("tags.0", "env:prod"),
        ("tags.2", "urgent"),
        ("$.alerts[0].labels.host", "db-1"),
        ("$.tags[1]", "team=storage"),
        ("$..host", "db-1"),
        ("state", "CLEARED"),
    ],
)
def test_dotted_paths_and_jsonpath_find_values(path: str, expected: Any) -> None:
    found = compile_path(path).find(BODY)
    assert found.present and found.value == expected


@pytest.mark.parametrize("path", ["alert.missing", "tags.9", "tags.x", "$.alerts[3]", "state.0"])
def test_a_path_to_nothing_finds_nothing(path: str) -> None:
    assert not compile_path(path).find(BODY).present


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("", "empty path"),
        ("a..b", "empty segment"),
        ("alerts[0].labels", "JSONPath starts with `$`"),
        ("$.alerts[", "not valid JSONPath"),
        ("$$", "not valid JSONPath"),
        ("x" * 501, "longer than 500"),
        ("$.`parent`", "cannot run"),
        ("$.a | $.b", "deprecated JSONPath"),
    ],
)
def test_malformed_paths_say_what_is_wrong(path: str, named: str) -> None:
    with pytest.raises(PathSyntaxError, match=named.replace("$", r"\$").replace("[", r"\[")):
        compile_path(path)


def test_the_default_mapping_reads_the_plain_shape() -> None:
    body = {
        "title": "DB down",
        "severity": "crit",
        "status": "firing",
        "dedup_key": "db-1/down",
        "labels": {"env": "prod", "replicas": 3},
        "source": "db-1",
        "details": {"lag": "12s"},
    }
    [event] = generic.events_from_body(body, GenericMapping())
    assert event.action is AlertAction.TRIGGER
    assert (event.summary, event.severity, event.dedup_key) == (
        "DB down",
        Severity.CRITICAL,
        "db-1/down",
    )
    assert event.labels == {"env": "prod", "replicas": "3"}
    assert (event.source, event.details, event.payload) == ("db-1", {"lag": "12s"}, body)


def test_a_custom_mapping_with_dotted_paths_jsonpath_and_value_maps() -> None:
    mapping = GenericMapping.model_validate(
        {
            "title": "alert.name",
            "severity": "alert.level",
            "status": "state",
            "dedup_key": "$.alerts[0].labels.host",
            "labels": "tags",
            "severity_map": {"p1": "warning"},
            "status_map": {"Cleared": "acknowledge"},
        }
    )
    [event] = generic.events_from_body(BODY, mapping)
    assert event.summary == "Disk full"
    # The mapping's own meaning wins over the common word ("p1" is critical elsewhere).
    assert event.severity is Severity.WARNING
    assert event.action is AlertAction.ACKNOWLEDGE
    assert event.dedup_key == "db-1"
    assert event.labels == {"env": "prod", "team": "storage", "urgent": ""}


@pytest.mark.parametrize(
    ("word", "action"),
    [
        ("ok", AlertAction.RESOLVE),
        ("Resolved", AlertAction.RESOLVE),
        (" closed ", AlertAction.RESOLVE),
        ("ack", AlertAction.ACKNOWLEDGE),
        ("firing", AlertAction.TRIGGER),
        ("anything", AlertAction.TRIGGER),
        (None, AlertAction.TRIGGER),
    ],
)
def test_status_words(word: str | None, action: AlertAction) -> None:
    assert generic.action_for(word, {}) is action


def test_a_boolean_status_can_be_given_a_meaning() -> None:
    mapping = GenericMapping.model_validate(
        {"status": "resolved", "status_map": {"true": "resolve"}}
    )
    [event] = generic.events_from_body({"title": "x", "resolved": True}, mapping)
    assert event.action is AlertAction.RESOLVE


def test_without_a_dedup_key_the_same_title_and_labels_are_the_same_alert() -> None:
    trigger = {"title": "Queue stuck", "labels": {"queue": "mail"}}
    resolve = {**trigger, "status": "ok"}
    other = {"title": "Queue stuck", "labels": {"queue": "sms"}}
    first, second, third = generic.events_from_body([trigger, resolve, other], GenericMapping())
    assert first.dedup_key == second.dedup_key != third.dedup_key
    assert len(first.dedup_key) == 32
    assert (first.action, second.action) == (AlertAction.TRIGGER, AlertAction.RESOLVE)


def test_title_falls_back_along_its_paths() -> None:
    [event] = generic.events_from_body({"title": "  ", "message": "From message"}, GenericMapping())
    assert event.summary == "From message"


@pytest.mark.parametrize(
    ("body", "problems"),
    [
        ({"severity": "critical"}, [("title", "no title at `title`, `summary`, `message`")]),
        ({"title": {"a": 1}}, [("title", "expected text, found an object")]),
        ({"title": True}, [("title", "expected text, found a boolean")]),
        (
            {"title": "x", "labels": 5, "status": ["ok"]},
            [
                ("status", "expected a word, found a list"),
                ("labels", "expected an object or a list of tags, found a number"),
            ],
        ),
        ({"title": "x", "dedup_key": "k" * 256}, [("dedup_key", "longer than 255 characters")]),
        ([], [("body", "an empty list holds no event")]),
        ("text", [("body", "expected an object or a list, found text")]),
        (
            [{"title": "fine"}, 7, {"nope": 1}],
            [
                ("[1]", "expected an object, found a number"),
                ("[2].title", "no title at `title`, `summary`, `message`"),
            ],
        ),
    ],
)
def test_problems_name_the_field_and_the_event(body: Any, problems: list[tuple[str, str]]) -> None:
    with pytest.raises(generic.UnmappableBody) as caught:
        generic.events_from_body(body, GenericMapping())
    assert [(p.field, p.message) for p in caught.value.problems] == problems
    assert caught.value.field == problems[0][0]


def test_deep_nesting_is_refused_before_anything_recurses_into_it() -> None:
    deep: Any = "bottom"
    for _ in range(200):
        deep = {"d": deep}
    with pytest.raises(generic.UnmappableBody, match="nested deeper than 64"):
        generic.events_from_body({"title": "x", "details": deep}, GenericMapping())


def test_a_jsonpath_that_fails_on_a_document_raises_its_own_error() -> None:
    # jsonpath-ng asserts that `parent` has a parent; whatever it raises on a body is
    # reported as that body's problem, never as a crash.
    path = CompiledPath("$.a.`parent`", parse("$.a.`parent`"), ())
    assert path.find({"a": 1}).present
    with pytest.raises(PathEvaluationError, match="could not be evaluated"):
        CompiledPath("$.`parent`", parse("$.`parent`"), ()).find({"a": 1})


def test_nul_characters_are_dropped_from_text() -> None:
    [event] = generic.events_from_body(
        {"title": "a\x00b", "labels": {"k\x00": "v\x00"}}, GenericMapping()
    )
    assert (event.summary, event.labels) == ("ab", {"k": "v"})


def test_malformed_json_is_its_own_error() -> None:
    with pytest.raises(generic.MalformedBody, match="not valid JSON"):
        generic.parse_body(b'{"title": ')
    with pytest.raises(generic.MalformedBody):
        generic.parse_body(b'{"title": "\\ud800"}')  # a lone surrogate


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"title": "$.["}, "title", "not valid JSONPath"),
        ({"title": []}, "title", "every alert has a title"),
        ({"labels": 5}, "labels", "a path or a list of paths"),
        ({"title": ["a", "b..c"]}, "title", "path 2:"),
        ({"severity_map": {"x": "catastrophic"}}, "severity_map.x", "'critical'"),
        ({"status_map": {"x": "explode"}}, "status_map.x", "'resolve'"),
        ({"status_map": {" ": "resolve"}}, "status_map", "cannot be empty"),
        ({"colour": "red"}, "colour", "Extra inputs"),
    ],
)
def test_a_bad_mapping_names_its_field(data: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_mapping(IntegrationKind.GENERIC, data)
    assert caught.value.field == field
    assert message in caught.value.detail


def test_map_words_are_kept_in_lower_case_and_nulls_mean_no_path() -> None:
    mapping = validate_mapping(
        IntegrationKind.GENERIC, {"severity_map": {" SEV1 ": "critical"}, "labels": None}
    )
    assert isinstance(mapping, GenericMapping)
    assert mapping.severity_map == {"sev1": Severity.CRITICAL}
    assert mapping.labels == []


json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
event_like = st.fixed_dictionaries(
    {},
    optional={
        name: json_values
        for name in ("title", "summary", "severity", "status", "dedup_key", "labels", "details")
    },
)


@given(body=event_like | st.lists(event_like, max_size=4) | json_values)
def test_any_json_maps_to_events_or_to_named_problems(body: Any) -> None:
    mapped = generic.map_body(body, GenericMapping())
    problems = mapped.all_problems()
    for item in mapped.events:
        assert (item.event is None) == bool(item.problems)
        if item.event is not None:
            assert item.event.summary and len(item.event.summary) <= 1024
            assert 0 < len(item.event.dedup_key) <= 255
            assert all(isinstance(v, str) for v in item.event.labels.values())
            # What is stored must serialise back to JSON.
            orjson.dumps([item.event.labels, item.event.details, item.event.payload])
    if problems:
        with pytest.raises(generic.UnmappableBody):
            generic.events_from_body(body, GenericMapping())
    for problem in problems:
        assert problem.field and problem.message
