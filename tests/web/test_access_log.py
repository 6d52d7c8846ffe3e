"""Integration keys and tokens sent in the path never reach the access log."""

from __future__ import annotations

import logging

import pytest

from escalate.web import access_log


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/api/v1/ingest/alertmanager/esc_int_abc123", "/api/v1/ingest/alertmanager/(key)"),
        ("/api/v1/ingest/generic/esc_int_abc?x=1", "/api/v1/ingest/generic/(key)?x=1"),
        ("/api/v1/ingest/alertmanager", "/api/v1/ingest/alertmanager"),
        ("/api/v1/alerts/12", "/api/v1/alerts/12"),
        ("/calendar/esc_cal_Zx9-abc.ics", "/calendar/(token).ics"),
        ("/actions/eyJhbGciOi.abc-def", "/actions/(token)"),
        ("/actions/eyJhbGciOi.abc?x=1", "/actions/(token)?x=1"),
    ],
)
def test_keys_in_ingest_paths_are_blanked(path: str, shown: str) -> None:
    assert access_log.redact(path) == shown


def test_the_access_handler_of_the_served_config_blanks_them() -> None:
    config = access_log.log_config()
    assert "redact_ingest_keys" in config["handlers"]["access"]["filters"]
    factory = config["filters"]["redact_ingest_keys"]["()"]
    assert factory == "escalate.web.access_log.RedactIngestKeys"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", "/api/v1/ingest/generic/esc_int_SECRET", "1.1", 202),
        None,
    )
    assert access_log.RedactIngestKeys().filter(record)
    assert "SECRET" not in record.getMessage()
    assert "/api/v1/ingest/generic/(key)" in record.getMessage()
