"""Servers the storage tests run against: Azurite, and the ASH gate in front of it.

Shared by the integration tests and `benchmarks/bench_storage.py`, so both measure the same path.
"""
