"""Helpers for the login tests."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_login_form(client: TestClient, path: str) -> str:
    """The CSRF token of the login form at `path` (staff or portal)."""
    page = client.get(path)
    found = CSRF.search(page.text)
    assert found, f"no CSRF field on {path}"
    return found.group(1)
