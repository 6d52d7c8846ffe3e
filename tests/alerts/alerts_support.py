"""Helpers for alert tests: the shared fixture payloads and raw ingest requests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alertmanager"
SAMPLE = "alertmanager_webhook_sample.json"
GROUPED_RESOLVED = "alertmanager_webhook_sample_grouped_resolved.json"


def load_fixture(name: str) -> dict[str, Any]:
    path = FIXTURES / name
    if not path.is_file():
        pytest.fail(f"fixture payload {path} is missing")
    data: dict[str, Any] = json.loads(path.read_text())
    return data
