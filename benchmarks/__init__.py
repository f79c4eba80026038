"""Benchmarks: `python -m benchmarks [NAME ...]` runs `bench_*.py` modules and rewrites docs/benchmarks.md.

Each module exposes `run() -> str`, returning its Markdown section: figures as ratios against a baseline
measured in the same run, plus the absolute numbers. Sections of modules not run this time are kept.
"""
