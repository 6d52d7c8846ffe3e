"""Rendering: JSON in the API's shapes for scripts, Rich tables for people. Money, durations
and percentages read as on the web pages: use escalate.formatting."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import typer
from pydantic import BaseModel
from rich.table import Table
from rich.text import Text

from escalate.cli.runtime import out


def emit_json(value: BaseModel | dict[str, Any]) -> None:
    """One JSON document on stdout: a Read schema as the API returns it."""
    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def emit_page(items: Sequence[BaseModel], total: int) -> None:
    """A list as the API returns it: {"items": [...], "total": N}."""
    emit_json({"items": [item.model_dump(mode="json") for item in items], "total": total})


def cell(value: Any) -> Text:
    """A table cell shown literally (names may contain Rich markup characters)."""
    if value is None:
        return Text("-", style="dim")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    if isinstance(value, datetime):
        return Text(when(value))
    if isinstance(value, date):
        return Text(value.isoformat())
    return Text(str(value))


def table(title: str | None, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> Table:
    result = Table(title=title, title_justify="left", title_style="bold")
    for column in columns:
        result.add_column(column, overflow="fold")  # wrap long e-mails, never cut them
    for row in rows:
        result.add_row(*(cell(value) for value in row))
    return result


def show(*renderables: Any) -> None:
    """Print to stdout. Strings are shown literally (never as Rich markup) and, like Text,
    left unwrapped for the terminal to fold: a piped line stays one line."""
    console = out()
    for renderable in renderables:
        if isinstance(renderable, str):
            renderable = Text(renderable)
        console.print(renderable, soft_wrap=isinstance(renderable, Text))


def page_footer(shown: int, total: int, offset: int) -> None:
    if shown < total:
        first = offset + 1 if shown else offset
        out().print(
            Text(f"{first}-{offset + shown} of {total}; use --offset/--limit for more", "dim")
        )


def when(moment: datetime, timezone: str | None = None) -> str:
    """A UTC time, or a local time with its zone's abbreviation and the UTC time."""
    utc = moment.strftime("%Y-%m-%d %H:%M UTC")
    if not timezone or timezone == "UTC":
        return utc
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({moment:%H:%M} UTC)"
