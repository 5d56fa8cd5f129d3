"""The district tier: districts and what their users read, and gateway workers sharing schools."""
