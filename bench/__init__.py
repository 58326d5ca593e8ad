"""Benchmarks. Each prints `name: value unit` lines; `make bench` runs them all."""
