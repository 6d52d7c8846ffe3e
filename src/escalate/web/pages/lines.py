"""The text people type for matchers and labels, and back.

Matchers are read by the domain's parser (alerts.routing.parse_matcher_lines), so the pages
take what the CLI takes: `name op value` as Alertmanager and amtool write them, op one of
`=`, `!=`, `=~`, `!~`, the value in double quotes (`team=~"db|dba"`) or bare (`env=prod`),
one per line or several separated by commas. What the pages add is the line number in
every error, so a person can find it, and the check of each name and regex on the spot.
Labels for the route tester are `name=value` lines, the value optionally quoted the same
way. Errors are ValidationFailed on the form's field, which the pages show beside it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from pydantic import ValidationError

from escalate.alerts import routing
from escalate.alerts.schemas import MatcherIn
from escalate.errors import ValidationFailed
from escalate.web.status import validation_errors

MAX_LINES = 200
EXAMPLE = 'team=~"db|dba"'
# As in routing: inside quotes \" is a quote and \\ a backslash; other backslashes stay.
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_ESCAPED = re.compile(r'\\(["\\])')


def parse_matchers(text: str, *, field: str = "matchers") -> list[MatcherIn]:
    """Matchers from the lines of a textarea; blank lines are skipped."""
    matchers = []
    for number, line in _lines(text, field):
        try:
            found = routing.parse_matcher_lines(line)
        except routing.MatcherSyntaxError as exc:
            raise ValidationFailed(f"line {number}: {exc}", field=field) from None
        for raw in found:
            try:
                matchers.append(MatcherIn.model_validate(raw))
            except ValidationError as exc:
                [first, *_] = validation_errors([dict(e) for e in exc.errors()])
                raise ValidationFailed(f"line {number}: {first['message']}", field=field) from None
    return matchers


def format_matcher(matcher: Mapping[str, str]) -> str:
    """A stored matcher as a line parse_matchers reads back to the same matcher (a value
    with a line break cannot be typed on one line; the API takes those)."""
    return f'{matcher["name"]}{matcher["op"]}"{quote(matcher["value"])}"'


def format_matchers(matchers: Iterable[Mapping[str, str]]) -> str:
    return "\n".join(format_matcher(m) for m in matchers)


def parse_labels(text: str, *, field: str = "labels") -> dict[str, str]:
    """Labels from `name=value` lines; a name given twice is a mistake worth saying."""
    labels: dict[str, str] = {}
    for number, line in _lines(text, field):
        name, equals, rest = line.partition("=")
        name = name.strip()
        if not equals or not name:
            raise ValidationFailed(
                f"line {number}: write a label as name=value, as in team=db", field=field
            )
        if name in labels:
            raise ValidationFailed(f"line {number}: label {name!r} is given twice", field=field)
        labels[name] = _label_value(rest, number, field)
    return labels


def format_labels(labels: Mapping[str, object]) -> str:
    """Labels as lines that parse_labels reads back; values are quoted only when needed."""
    out = []
    for name, raw in labels.items():
        value = raw if isinstance(raw, str) else "" if raw is None else str(raw)
        plain = value == value.strip() and not value.startswith('"')
        out.append(f"{name}={value}" if plain else f'{name}="{quote(value)}"')
    return "\n".join(out)


def quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _lines(text: str, field: str) -> list[tuple[int, str]]:
    # Only "\n" (and the "\r" browsers send before it) ends a line: str.splitlines would
    # also break on control characters that a value may hold.
    numbered = [
        (number, line.removesuffix("\r"))
        for number, line in enumerate(text.split("\n"), start=1)
        if line.strip()
    ]
    if len(numbered) > MAX_LINES:
        raise ValidationFailed(f"at most {MAX_LINES} lines", field=field)
    return numbered


def _label_value(rest: str, number: int, field: str) -> str:
    rest = rest.strip()
    if not rest.startswith('"'):
        return rest
    quoted = _QUOTED.fullmatch(rest)
    if quoted is None:
        raise ValidationFailed(
            f"line {number}: a quoted value ends at its closing quote", field=field
        )
    return _ESCAPED.sub(r"\1", quoted.group(1))
