"""The FastAPI app: the JSON API, the staff pages, health and metrics. Thin adapters only."""
