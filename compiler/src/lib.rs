//! The aigrid compiler: resolution, type checking, lowering to a DAG, optimisation and binding.
//!
//! Empty until the compiler issue lands; `aigrid-lang` parses and formats today.
