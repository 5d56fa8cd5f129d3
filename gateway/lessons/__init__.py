"""Lessons as they run: the live view and heart-rate analytics."""
