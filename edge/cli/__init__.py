"""Command-line entry points of the edge agent."""
