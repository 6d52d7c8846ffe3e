"""What every list page shares: limit and offset read forgivingly from the address, the
pager's links (which keep the filters), and row ids taken from a path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from escalate import errors
from escalate.ids import MAX_ID
from escalate.pagination import Page, PageParams

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
# Query parameters that shape a response but are not part of the list's address.
NOT_KEPT = frozenset({"fragment", "saved"})


@dataclass(frozen=True)
class Pager:
    total: int
    first: int
    last: int
    prev_url: str | None
    next_url: str | None


def query_int(value: str | None, default: int) -> int:
    """A whole number from the address; anything else (absent, words, absurd) is `default`."""
    if value is None or not value.strip().lstrip("-").isdigit() or len(value) > 9:
        return default
    return int(value)


def page_params(
    request: Request, *, prefix: str = "", default_limit: int = DEFAULT_LIMIT
) -> PageParams:
    """`limit` and `offset` (named with `prefix` for a second list on one page), clamped
    rather than refused: a hand-edited address still shows a page."""
    params = request.query_params
    limit = min(max(query_int(params.get(prefix + "limit"), default_limit), 1), MAX_LIMIT)
    offset = min(max(query_int(params.get(prefix + "offset"), 0), 0), MAX_ID)
    return PageParams(limit=limit, offset=offset)


def pager(
    request: Request,
    page: Page[Any],
    *,
    path: str | None = None,
    prefix: str = "",
    default_limit: int = DEFAULT_LIMIT,
) -> Pager:
    """Previous and next links for `page`, keeping every other parameter of this address."""
    kept = {k: v for k, v in request.query_params.items() if k not in NOT_KEPT}
    base = path or request.url.path

    def url(offset: int) -> str:
        query = {k: v for k, v in kept.items() if k not in (prefix + "offset", prefix + "limit")}
        if page.limit != default_limit:
            query[prefix + "limit"] = str(page.limit)
        if offset:
            query[prefix + "offset"] = str(offset)
        return base + ("?" + urlencode(query) if query else "")

    has_next = page.offset + page.limit < page.total
    return Pager(
        total=page.total,
        first=page.offset + 1 if page.items else 0,
        last=page.offset + len(page.items),
        prev_url=url(max(page.offset - page.limit, 0)) if page.offset > 0 else None,
        next_url=url(page.offset + page.limit) if has_next else None,
    )


def path_id(value: str, *, noun: str, field: str) -> int:
    """A row id from the path; anything that cannot be one is simply not found (a 404 page
    rather than a 400 about types)."""
    text = value.strip()
    if not text.isdigit() or len(text) > 19 or not 1 <= int(text) <= MAX_ID:
        raise errors.NotFound(f"{noun} {value[:40]} not found", field=field)
    return int(text)


def optional_id(value: str | None) -> int | None:
    """An id from a filter or a select: None when empty or not a possible id."""
    text = (value or "").strip()
    if not text.isdigit() or len(text) > 19 or not 1 <= int(text) <= MAX_ID:
        return None
    return int(text)
