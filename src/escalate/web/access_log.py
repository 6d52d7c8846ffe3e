"""Uvicorn's access log, with secrets in paths blanked: an integration key can travel in
the path (`/api/v1/ingest/alertmanager/<key>`, as Alertmanager's webhook_configs allow), a
calendar feed's token and a one-click action link's token are the path; a secret must not
land in plain-text logs."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

_KEY_IN_PATH = re.compile(r"(/ingest/[a-z_]+/)[^/?\s]+")
_TOKEN_IN_PATH = re.compile(r"^(/calendar/|/actions/)[^/?\s]+?(\.ics)?(?=$|[/?\s])")


def redact(path: str) -> str:
    return _TOKEN_IN_PATH.sub(r"\1(token)\2", _KEY_IN_PATH.sub(r"\1(key)", path))


class RedactIngestKeys(logging.Filter):
    """Blanks the key in the path argument of uvicorn.access records (client, method,
    path, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact(args[2]), *args[3:])
        return True


def log_config() -> dict[str, Any]:
    """Uvicorn's default logging configuration plus the filter on the access handler
    (a dict, so every server process applies it itself)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_ingest_keys"] = {
        "()": f"{__name__}.{RedactIngestKeys.__name__}"
    }
    config["handlers"]["access"].setdefault("filters", []).append("redact_ingest_keys")
    return config
