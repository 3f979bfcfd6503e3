//! aigrid's plan codec: every stage of every example, encoded with `AigridCodec` into
//! DataFusion's protobuf format, decoded and run (what a cluster worker does), gives
//! byte-identical outputs to the same run in process.

mod support;

use support::{Scratch, examples_give_the_same_bytes};

#[test]
fn every_stage_of_every_example_round_trips_through_the_codec() {
    let scratch = Scratch::new("codec-examples");
    examples_give_the_same_bytes(&scratch, &["--through-codec"]);
}
