"""SLA policies: uptime targets, per-severity response targets, service-credit tiers."""
