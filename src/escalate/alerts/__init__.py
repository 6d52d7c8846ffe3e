"""Alerts in: integrations (the doors monitoring tools knock on), inbound formats, dedup."""
