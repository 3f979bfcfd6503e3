//! The aigrid executor: runs bound plans as DataFusion physical plans, in-process or on Ballista.
//!
//! Empty until the executor issue lands.
