"""Command overrides (COMMANDS_MODULE)."""
