"""The demo data set: the TechCorp Solutions escalation of October 2025 (see DEMO-STORY.md)."""
