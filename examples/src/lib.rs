//! Runnable examples for rentio; see the `examples` of this package.
