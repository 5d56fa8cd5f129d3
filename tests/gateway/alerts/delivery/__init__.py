"""Tests of the alert delivery channels."""
