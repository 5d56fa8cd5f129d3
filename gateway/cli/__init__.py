"""Subcommands of the gateway side: run, user, broker, contract export, demo."""
