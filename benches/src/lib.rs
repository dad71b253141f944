//! Shared helpers for the orderwire benchmarks.
