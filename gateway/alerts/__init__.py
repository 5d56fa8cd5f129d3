"""Health alerts: rules over ingested data, a lifecycle with audit trail, and delivery."""
