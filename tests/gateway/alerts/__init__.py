"""Tests of the health alerts: rules on simulated scenarios, lifecycle, delivery, API."""
