//! The aigrid standard library: op signatures, kernels and built-in grid AIs.
//!
//! Empty until the standard-library issue lands.
