"""The training data's machinery: the shipped example, synthetic data for benchmarks, and restoring data/."""
