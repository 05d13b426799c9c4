"""Canonicalization patterns, one module per dialect (xDSL layout)."""
