//! `aigridc workers`: the workers registered at a coordinator, with what each offers.

use aigrid_cluster::block_on;
use aigrid_cluster::journal::JournalClient;
use aigrid_cluster::journal::proto::Worker;

use super::ExitStatus;
use super::args::{CardsFormat, WorkersArgs};
use super::output;

/// `aigridc workers`.
pub fn workers(args: &WorkersArgs) -> ExitStatus {
    let access = match args.cluster.access() {
        Ok(access) => access,
        Err(error) => {
            output::error(&error);
            return ExitStatus::Error;
        }
    };
    let workers = block_on(async { JournalClient::connect(&access).await?.workers().await });
    let mut workers = match workers {
        Ok(Ok(workers)) => workers,
        Ok(Err(error)) | Err(error) => {
            output::error(&error.to_string());
            return ExitStatus::Error;
        }
    };
    workers.sort_by(|a, b| (&a.host, a.port).cmp(&(&b.host, b.port)));
    if args.format == CardsFormat::Json {
        let list: Vec<serde_json::Value> = workers.iter().map(json).collect();
        return output::print(&format!("{}\n", serde_json::Value::Array(list)));
    }
    let mut text = format!("{:<22} {:<6} {:<5} {}\n", "address", "slots", "gpus", "id");
    for worker in &workers {
        let address = format!("{}:{}", worker.host, worker.port);
        text.push_str(&format!(
            "{address:<22} {:<6} {:<5} {}\n",
            worker.slots, worker.gpus, worker.id
        ));
    }
    let (slots, gpus) = workers
        .iter()
        .fold((0u64, 0u64), |(s, g), w| (s + u64::from(w.slots), g + u64::from(w.gpus)));
    text.push_str(&format!("{} workers, {slots} slots, {gpus} GPUs\n", workers.len()));
    output::print(&text)
}

fn json(worker: &Worker) -> serde_json::Value {
    serde_json::json!({
        "id": worker.id,
        "host": worker.host,
        "port": worker.port,
        "slots": worker.slots,
        "gpus": worker.gpus,
    })
}
