"""``python -m benchmarks``: the engine benchmark suite (see benchmarks/run.py)."""

from benchmarks.run import main

main()
