"""The `escalate` command: thin adapters that parse, call one service and render."""
