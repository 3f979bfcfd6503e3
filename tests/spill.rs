//! Past the memory budget, stage outputs kept for later readers are written to Arrow IPC files
//! in the run's work directory and read back from there: the results are the same, and the work
//! directory is gone when the run ends.

mod support;

use support::{Scratch, run};

#[test]
fn stage_outputs_past_the_memory_budget_spill_to_disk_with_the_same_results() {
    let scratch = Scratch::new("spill");
    let mut csv = String::from("text\n");
    for i in 0..3000 {
        csv.push_str(&format!("ticket {i} about invoice {} and refunds\n", i * 7 % 13));
    }
    scratch.write("t.csv", &csv);
    scratch.write(
        "p.ag",
        "use std.io.{read_csv, write_parquet}\nuse std.tensor.{l2_normalize, matmul, transpose}\n\n\
         ai vectorize(text: list<utf8>) -> tensor<f32, [N, 256]>\n    where task == \"text-vectorize\" && dims == 256\n\n\
         pipeline main(out: path) -> tensor<f32, [256, 256]> {\n    let docs: table { text: utf8 } = read_csv(\"t.csv\")\n    \
         let v = vectorize(docs.text)\n    write_parquet(l2_normalize(v), out)\n    return matmul(transpose(v), v)\n}\n",
    );
    std::fs::create_dir_all(scratch.path().join("work")).unwrap_or_else(|e| panic!("{e}"));
    let mut outputs = Vec::new();
    for (budget, name) in [("2GiB", "kept"), ("1KiB", "spilled")] {
        let (status, _, stderr) = run(scratch.aigridc().args([
            "run",
            "--no-cache",
            "p.ag",
            "--param",
            &format!("out={name}.parquet"),
            "-o",
            &format!("{name}-gram.parquet"),
            "--memory-budget",
            budget,
            "--work-dir",
            "work",
        ]));
        assert_eq!(status, 0, "{stderr}");
        // 3,000 rows of 256 f32 (3 MiB) kept for two readers.
        assert_eq!(stderr.contains("MiB spilled to disk"), name == "spilled", "{stderr}");
        outputs.push((
            scratch.read(&format!("{name}.parquet")),
            scratch.read(&format!("{name}-gram.parquet")),
        ));
    }
    assert!(outputs[0] == outputs[1], "the spilled run wrote different files");
    let left: Vec<_> = std::fs::read_dir(scratch.path().join("work"))
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "the work directory was not cleaned: {left:?}");

    let (status, _, stderr) =
        run(scratch.aigridc().args(["run", "p.ag", "--memory-budget", "lots"]));
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("not a size such as 512MiB"), "{stderr}");
}
