"""Verification helpers shared by the simulators: stimulus, expected outputs, vector files."""
