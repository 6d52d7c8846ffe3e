"""The text people type for matchers and labels, one per line, and back.

Matchers are written as in Alertmanager: `name op value`, op one of `=`, `!=`, `=~`, `!~`,
the value in double quotes (`team=~"db|dba"`) or bare to the end of the line (`env=prod`).
Inside quotes, `\\"` is a quote, `\\\\` a backslash and `\\n`, `\\r`, `\\t` what they say;
any other backslash is kept as typed, so regexes read naturally (`host=~"db\\.example"`).
Labels for the route tester are `name=value` lines, the value optionally quoted.

Errors name the line, so a person can find it; they are ValidationFailed on the form's
field, which the pages show beside that field."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from pydantic import ValidationError

from escalate.alerts.schemas import MatcherIn
from escalate.errors import ValidationFailed
from escalate.web.status import validation_errors

MAX_LINES = 200
OPERATORS = ("=~", "!~", "!=", "=")  # longest first: "=~" must not read as "=" + "~..."
_HEAD = re.compile(r"\s*(?P<name>[^\s=!~\"]+)\s*(?P<op>=~|!~|!=|=)\s*")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_QUOTED = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
EXAMPLE = 'team=~"db|dba"'


def parse_matchers(text: str, *, field: str = "matchers") -> list[MatcherIn]:
    """Matchers from lines; blank lines are skipped."""
    matchers = []
    for number, line in _lines(text, field):
        head = _HEAD.match(line)
        if head is None:
            raise ValidationFailed(
                f"line {number}: write a label, an operator (=, !=, =~ or !~) and a value, "
                f"as in {EXAMPLE}",
                field=field,
            )
        value = _value(line[head.end() :], number, field)
        try:
            matchers.append(
                MatcherIn.model_validate({"name": head["name"], "op": head["op"], "value": value})
            )
        except ValidationError as exc:
            [first, *_] = validation_errors([dict(e) for e in exc.errors()])
            raise ValidationFailed(f"line {number}: {first['message']}", field=field) from None
    return matchers


def format_matcher(matcher: Mapping[str, str]) -> str:
    """One stored matcher as a line that parse_matchers reads back to the same matcher."""
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
        labels[name] = _value(rest, number, field)
    return labels


def format_labels(labels: Mapping[str, object]) -> str:
    """Labels as lines that parse_labels reads back; values are quoted only when needed."""
    lines = []
    for name, raw in labels.items():
        value = raw if isinstance(raw, str) else "" if raw is None else str(raw)
        plain = value == value.strip() and not value.startswith('"')
        plain = plain and not any(ch in _QUOTED for ch in value)
        lines.append(f"{name}={value}" if plain else f'{name}="{quote(value)}"')
    return "\n".join(lines)


def quote(value: str) -> str:
    return "".join(_QUOTED.get(ch, ch) for ch in value)


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


def _value(rest: str, number: int, field: str) -> str:
    """A bare value (trimmed) or a double-quoted one (unescaped); nothing may follow the
    closing quote."""
    rest = rest.strip()
    if not rest.startswith('"'):
        return rest
    out: list[str] = []
    i = 1
    while i < len(rest):
        ch = rest[i]
        if ch == "\\" and i + 1 < len(rest):
            nxt = rest[i + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        if ch == '"':
            if rest[i + 1 :].strip():
                raise ValidationFailed(
                    f"line {number}: unexpected text after the closing quote "
                    f"(one matcher per line)",
                    field=field,
                )
            return "".join(out)
        out.append(ch)
        i += 1
    raise ValidationFailed(f"line {number}: the value has no closing quote", field=field)
