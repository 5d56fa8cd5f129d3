"""Fitness-test scoring by the 2014 National Student Physical Fitness Standard (pure, no I/O)."""
