"""Shapes of service groups (the admin API of the status pages)."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

# Paths under /status that a group's slug must not shadow.
RESERVED_SLUGS = frozenset({"feed", "subscribe", "confirm", "unsubscribe", "static"})


def _not_reserved(value: str) -> str:
    if value in RESERVED_SLUGS:
        raise ValueError(f"'{value}' is reserved for a status page path")
    return value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Slug = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$"), AfterValidator(_not_reserved)
]
Description = Annotated[str | None, Field(max_length=5000)]
Position = Annotated[int, Field(ge=0, le=10_000)]
ServiceRefs = Annotated[
    list[str], Field(max_length=500, description="Service names or ids, in page order.")
]


class ServiceGroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    slug: Slug
    description: Description = None
    is_public: bool = True
    position: Position = 0
    services: ServiceRefs = Field(default_factory=list)


class ServiceGroupUpdate(BaseModel):
    """A partial update; `services`, when given, replaces the members (in page order)."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    slug: Slug | None = None
    description: Description = None
    is_public: bool | None = None
    position: Position | None = None
    services: ServiceRefs | None = None

    @model_validator(mode="after")
    def _no_null(self) -> ServiceGroupUpdate:
        for name in ("name", "slug", "is_public", "position", "services"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name}: may not be null; leave it out to keep it")
        return self


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
