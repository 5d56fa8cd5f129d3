"""Tests of the PE-station pipeline."""
