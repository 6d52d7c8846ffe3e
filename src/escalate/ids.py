"""Row ids as input: positive and within a 64-bit integer, so that an absurd id is a clear
4xx naming the field rather than an overflow deep in a database driver."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_ID = 2**63 - 1

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def in_range(value: int) -> bool:
    """Whether an id could name a row at all (anything else is simply not found)."""
    return 1 <= value <= MAX_ID
