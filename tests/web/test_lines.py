"""The matcher and label lines of the pages' forms: what people type, what it means, that
errors name the line, and that what the pages write back reads the same (the edit form
shows stored rules)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate.alerts.models import EVENT_FIELDS, MatchOp
from escalate.errors import ValidationFailed
from escalate.web.pages import lines


def _parsed(text: str) -> list[tuple[str, str, str]]:
    return [(m.name, m.op.value, m.value) for m in lines.parse_matchers(text)]


def test_matchers_read_as_in_alertmanager() -> None:
    text = """
        team=~"db|dba"
      env = "production"
    event.severity!=info
    instance!~"db-[0-9]+\\.example"
    quote="say \\"hi\\"\\n"
    empty="", also=~"a,b"
    """
    assert _parsed(text) == [
        ("team", "=~", "db|dba"),
        ("env", "=", "production"),
        ("event.severity", "!=", "info"),
        ("instance", "!~", "db-[0-9]+\\.example"),  # an unknown escape is kept as typed
        ("quote", "=", 'say "hi"\\n'),
        ("empty", "=", ""),
        ("also", "=~", "a,b"),  # commas separate matchers, as in the CLI, outside quotes
    ]
    assert lines.parse_matchers("") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("team", "line 1: 'team' is not a matcher"),
        ('a=b\n\n"team"="db"', "line 3:"),
        ('team="db', "line 1: 'team=\"db': a quoted value ends at its closing quote"),
        ('team="db" env="prod"', 'line 1: \'team="db" env="prod"\': a quoted value ends'),
        ("team=~(", "line 1: not a valid regular expression"),
        ("team-name=x", "line 1: 'team-name=x' is not a matcher"),
        ("a=b\nevent.colour=red", "line 2: 'event.colour' is neither a label name"),
        ("a=b\n" * 201, "at most 200 lines"),
    ],
)
def test_bad_matcher_lines_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        lines.parse_matchers(text, field="matchers")
    assert message in caught.value.detail
    assert caught.value.field == "matchers"


def test_labels_are_name_equals_value_lines() -> None:
    assert lines.parse_labels(' team=db \nenv="prod "\nurl=http://x/?a=b\nnone=') == {
        "team": "db",
        "env": "prod ",
        "url": "http://x/?a=b",
        "none": "",
    }
    for text, message in [
        ("team", "line 1: write a label as name=value"),
        ("=x", "line 1"),
        ("a=1\na=2", "line 2: label 'a' is given twice"),
        ('a="x', "line 1: a quoted value ends at its closing quote"),
    ]:
        with pytest.raises(ValidationFailed, match=message):
            lines.parse_labels(text)


label_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True) | st.sampled_from(
    EVENT_FIELDS
)
plain_ops = st.sampled_from([MatchOp.EQUAL, MatchOp.NOT_EQUAL])


# No lone surrogates: no form post or JSON body can carry one (they are not UTF-8).
one_line = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"),
    max_size=40,
)


@given(name=label_names, op=plain_ops, value=one_line)
def test_a_written_matcher_reads_back_the_same(name: str, op: MatchOp, value: str) -> None:
    stored = {"name": name, "op": op.value, "value": value}
    assert _parsed(lines.format_matcher(stored)) == [(name, op.value, value)]


@given(
    labels=st.dictionaries(
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,20}", fullmatch=True), one_line
    )
)
def test_written_labels_read_back_the_same(labels: dict[str, str]) -> None:
    assert lines.parse_labels(lines.format_labels(labels)) == labels
