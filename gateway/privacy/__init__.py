"""Students' personal data kept only as long as allowed: retention periods and erasure."""
