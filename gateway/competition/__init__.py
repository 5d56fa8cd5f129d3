"""The district rope-skipping competition: its definition, anti-cheat holds, rankings, export."""
