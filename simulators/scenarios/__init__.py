"""Scenario timelines: a PE lesson, a morning at the gate, a screening day."""
