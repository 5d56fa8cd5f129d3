"""Backups of the gateway's state: online copies, a manifest, restore, retention."""
