"""Replay GitHub Actions jobs step by step in a sandbox (see `runner` for what is emulated and how)."""
