"""Helpers for alert tests: the shared fixture payloads and raw ingest requests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

# CI keeps a copy of shared/ beside the clone (<clone>/../shared), as the workspace does.
FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
SAMPLE = "alertmanager_webhook_sample.json"
GROUPED_RESOLVED = "alertmanager_webhook_sample_grouped_resolved.json"


def load_fixture(name: str) -> dict[str, Any]:
    path = FIXTURES / name
    if not path.is_file():
        pytest.fail(f"fixture payload {path} is missing: shared/ must sit beside the clone")
    data: dict[str, Any] = json.loads(path.read_text())
    return data
