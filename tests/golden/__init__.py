"""Golden results: digests of small seeded runs, regenerated only by `python -m tests.golden.regenerate`."""
