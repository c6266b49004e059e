"""modq's benchmarks: ``python -m bench`` (full), ``python -m bench --smoke`` (seconds, for CI)."""
