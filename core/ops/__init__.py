"""Operational numbers: monotonic counters and the Prometheus snapshot."""
