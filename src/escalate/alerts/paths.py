"""Where a value sits in a JSON document: a dotted path (`alert.name`, `tags.0`) or a
JSONPath (`$.alerts[0].labels`, by jsonpath-ng). Pure functions, no database."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jsonpath_ng import JSONPath, parse
from jsonpath_ng.exceptions import JSONPathError

MAX_PATH_LENGTH = 500
MAX_SEGMENTS = 32
# Characters that mean the author wrote JSONPath but forgot the leading "$".
_JSONPATH_MARKS = frozenset("[]*$@")


class PathSyntaxError(ValueError):
    """A path that cannot be read; the message says why, for the person who wrote it."""


class PathEvaluationError(ValueError):
    """A valid JSONPath that failed on this document."""


@dataclass(frozen=True)
class Found:
    """The value a path points at; `present` is false when nothing is there."""

    present: bool
    value: Any = None


MISSING = Found(present=False)


@dataclass(frozen=True)
class CompiledPath:
    text: str
    jsonpath: JSONPath | None
    segments: tuple[str, ...]

    def find(self, document: Any) -> Found:
        """The value at this path in `document`: the first match for a JSONPath."""
        if self.jsonpath is not None:
            try:
                matches = self.jsonpath.find(document)
            except Exception as exc:
                # A third-party evaluator on untrusted input (it recurses, for one): any
                # failure is this document's, and is reported as such, never as a crash.
                raise PathEvaluationError(f"{self.text} could not be evaluated: {exc}") from None
            return Found(True, matches[0].value) if matches else MISSING
        value = document
        for segment in self.segments:
            if isinstance(value, dict) and segment in value:
                value = value[segment]
            elif isinstance(value, list) and _is_index(segment) and int(segment) < len(value):
                value = value[int(segment)]
            else:
                return MISSING
        return Found(True, value)


def _is_index(segment: str) -> bool:
    return segment.isascii() and segment.isdigit()


def compile_path(text: str) -> CompiledPath:
    """Check a path and prepare it for `find`; raise PathSyntaxError when it is malformed.
    Compiled paths are cached, so a mapping used on every event parses its paths once."""
    return _compile(text)


@lru_cache(maxsize=1024)
def _compile(text: str) -> CompiledPath:
    if not text or not text.strip():
        raise PathSyntaxError("empty path")
    if len(text) > MAX_PATH_LENGTH:
        raise PathSyntaxError(f"longer than {MAX_PATH_LENGTH} characters")
    if text.startswith("$"):
        try:
            with warnings.catch_warnings():
                # `|` and `&` are deprecated in jsonpath-ng 1.x and gone in 2.0: refuse them
                # now rather than accept mappings that break on an upgrade.
                warnings.simplefilter("error", DeprecationWarning)
                compiled = CompiledPath(text, parse(text), ())
        except JSONPathError as exc:
            raise PathSyntaxError(f"not valid JSONPath ({exc})") from None
        except DeprecationWarning as exc:
            raise PathSyntaxError(f"{text!r} uses deprecated JSONPath ({exc})") from None
        try:
            compiled.find({})
        except PathEvaluationError:
            # Parsed, but the evaluator cannot run it at all (`parent` of the root).
            raise PathSyntaxError(f"{text!r} is JSONPath this evaluator cannot run") from None
        return compiled
    segments = tuple(text.split("."))
    if any(not segment for segment in segments):
        raise PathSyntaxError(f"{text!r} has an empty segment (two dots, or a dot at an end)")
    if len(segments) > MAX_SEGMENTS:
        raise PathSyntaxError(f"more than {MAX_SEGMENTS} segments")
    if any(mark in text for mark in _JSONPATH_MARKS):
        raise PathSyntaxError(
            f"{text!r} is not a dotted path (use `tags.0`), and JSONPath starts with `$` "
            "(use `$.tags[0]`)"
        )
    return CompiledPath(text, None, segments)
