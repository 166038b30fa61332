"""Benchmarks: every figure beside its baseline from the same run, medians of several runs."""
