"""`campusedge simulate …` commands."""
