"""The performance suite behind ``benchmarks/suite.py``: one module per library, the
worker that runs one (workload, library) pair in its own process, and the report."""
