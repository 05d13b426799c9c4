"""Models for the tests, the demo and the benchmarks, built on this machine."""
