//! Whole programs through the compiler: random well-formed programs, and the example of every
//! standard-library operation. One test binary, so that DataFusion's SQL planner is linked once.

mod programs;
mod std_examples;
