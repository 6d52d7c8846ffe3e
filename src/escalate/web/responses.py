"""JSON answers encoded with orjson: several times faster than the standard library's
encoder, for the routes where the encoding is a visible share of a request's cost (ingest).
FastAPI's own ORJSONResponse is deprecated; this is the same few lines."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse


class FastJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
