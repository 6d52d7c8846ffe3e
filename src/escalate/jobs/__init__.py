"""Durable jobs and timers in the database, and the worker loop that runs them."""
