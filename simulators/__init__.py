"""Virtual devices at the transport seam and scenario scripts with fault injection."""
