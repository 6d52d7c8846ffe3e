"""SMTP adapters: alert mail in (inbound.py)."""
