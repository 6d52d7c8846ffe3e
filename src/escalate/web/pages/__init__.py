"""Server-rendered staff pages (Jinja2), with session-cookie login and CSRF on every form."""

from fastapi import APIRouter


def router() -> APIRouter:
    pages = APIRouter(include_in_schema=False)
    return pages
