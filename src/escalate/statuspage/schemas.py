"""Shapes of service groups (the admin API of the status pages)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

# Paths under /status that a group's slug must not shadow.
RESERVED_SLUGS = frozenset({"feed", "subscribe", "confirm", "unsubscribe", "static"})


class ServiceGroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    slug: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")]
    description: str | None = Field(default=None, max_length=5000)
    is_public: bool = True
    position: int = Field(default=0, ge=0, le=10_000)
    services: list[str] = Field(
        default_factory=list, max_length=500, description="Service names or ids, in page order."
    )

    @field_validator("slug")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_SLUGS:
            raise ValueError(f"'{value}' is reserved for a status page path")
        return value


class ServiceGroupRead(BaseModel):
    id: int
    name: str
    slug: str
    description: str | None
    is_public: bool
    position: int
    service_ids: list[int]
    services: list[str]


class ServiceGroupPage(BaseModel):
    items: list[ServiceGroupRead]
    total: int
