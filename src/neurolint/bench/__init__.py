"""Benchmarks: seeded suites measured side by side with peers (see BENCHMARKS.md)."""
