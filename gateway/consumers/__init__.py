"""Named consumers of the commit log, each with a saved cursor and its own thread."""
