"""Rows of the fault matrix, printed by conftest at the end of the run."""
MATRIX = []
