"""Benchmarks of Podium, each measured against a baseline in the same run (`make bench`)."""
