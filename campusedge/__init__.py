"""campusedge: shared vocabulary (wire contract, units, settings) and the command line."""

__version__ = "0.1.0"
