"""Incidents: the problems alerts are grouped into, and their lifecycle."""
