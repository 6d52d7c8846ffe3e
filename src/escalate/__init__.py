"""Escalate: incident response and customer escalation, from the first alert to the
customer who is satisfied again."""

__version__ = "0.1.0"
