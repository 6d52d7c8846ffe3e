"""Staff users, roles, API tokens, web sessions and the audit log."""
