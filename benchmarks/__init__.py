"""Benchmarks of the harness itself: ``python -m benchmarks`` prints a table and writes results.json.

What it measures and why is in BENCHMARKS.md; everything runs on loopback and is bounded in count.
"""
