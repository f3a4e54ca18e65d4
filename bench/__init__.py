"""Benchmarks (not tests): each module prints a report and writes JSON to bench/results/."""
