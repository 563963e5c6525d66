"""Benchmarks of the coalition simulator (outside the test suite): ``python -m benchmarks [--quick]``."""
