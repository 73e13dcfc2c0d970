"""Tether's benchmarks: propagation latency, provider calls per change, write amplification
and memory, measured on the real stack (services as processes, Kafka, PostgreSQL) or the
embedded one, against the provider emulators. ``make bench`` / ``make bench-quick``."""
