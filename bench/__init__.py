"""Parley benchmarks: latency, throughput and capacity measured against a floor in the same run.

`python -m bench` (or `make bench`) runs everything; `python -m bench --smoke` is the quick check.
"""
