"""Tests of the district tier."""
