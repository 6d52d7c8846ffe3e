"""Limit/offset pages, shared by every list: `{"items": [...], "total": N}`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from escalate.ids import MAX_ID

T = TypeVar("T")
MAX_LIMIT = 500


class PageParams(BaseModel):
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)
    offset: int = Field(default=0, ge=0, le=MAX_ID)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def paginate(session: Session, stmt: Select[Any], page: PageParams) -> Page[Any]:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(session.scalars(stmt.limit(page.limit).offset(page.offset)))
    return Page(items=items, total=total or 0, limit=page.limit, offset=page.offset)
