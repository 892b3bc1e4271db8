"""`make bench`: the measured evidence behind BENCHMARKS.md (`python -m bench.run --help`)."""
