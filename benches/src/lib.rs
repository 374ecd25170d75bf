//! Criterion benchmarks for rentio; see `benches/`.
