"""Transports that bring device bytes (or camera frames) to the edge agent."""
