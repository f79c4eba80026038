"""edge-train: train a model next to data that must stay on premises, ship the model anywhere.

`ml.steps` is the model a forker edits; everything else in this package is machinery they keep.
"""
