"""Benchmark commands (`campusedge bench …`): JSON out, with a baseline measured in the same run."""
