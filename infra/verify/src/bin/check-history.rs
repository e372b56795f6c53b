//! Checks recorded histories for linearizability: `check-history <file.json>...`.
//! Each file is one object's history, `{"model": "key" | "pool" | "balance",
//! "init": {...}, "calls": [...]}` (`licensing_verify::Call`, ops and answers
//! as `models` spells them). Prints each verdict; an anomaly is printed with
//! the first answer no order explains, the fewest reads and refusals that
//! cannot be given together and the changes sent before them, and makes the
//! exit status 1 (2 for a file that is not a history).

use licensing_verify::models::{Balance, Key, Pool};
use licensing_verify::{check, Call, Verdict};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::fmt::Debug;

#[derive(Deserialize)]
struct History {
    model: String,
    #[serde(default)]
    init: serde_json::Value,
    calls: serde_json::Value,
}

#[derive(Deserialize, Default)]
struct Init {
    limit: Option<u32>,
    quantity: Option<u32>,
    balance: Option<i64>,
    overage_limit: Option<i64>,
}

fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: check-history <history.json>...");
        std::process::exit(2);
    }
    let mut anomalies = 0;
    for path in &paths {
        let history: History = match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
        {
            Ok(history) => history,
            Err(problem) => {
                eprintln!("{path}: {problem}");
                std::process::exit(2);
            }
        };
        let init: Init = match history.init {
            serde_json::Value::Null => Init::default(),
            given => serde_json::from_value(given).unwrap_or_else(|problem| {
                eprintln!("{path}: init: {problem}");
                std::process::exit(2);
            }),
        };
        let found = match history.model.as_str() {
            "key" => report(path, Key::with_limit(init.limit), history.calls),
            "pool" => report(path, Pool::of(init.quantity.unwrap_or(0)), history.calls),
            "balance" => report(
                path,
                Balance {
                    balance: init.balance.unwrap_or(0),
                    overage: 0,
                    overage_limit: init.overage_limit,
                },
                history.calls,
            ),
            other => {
                eprintln!("{path}: no model {other:?} (key, pool, balance)");
                std::process::exit(2);
            }
        };
        anomalies += usize::from(found);
    }
    println!("{} histories checked, {anomalies} not linearizable", paths.len());
    std::process::exit(i32::from(anomalies > 0));
}

/// Prints the verdict on one history; true for an anomaly.
fn report<S>(path: &str, init: S, calls: serde_json::Value) -> bool
where
    S: licensing_verify::Model + Clone + Debug + Eq + std::hash::Hash,
    S::Op: Clone + Debug + DeserializeOwned,
    S::Ret: Clone + Debug + PartialEq + DeserializeOwned,
{
    let calls: Vec<Call<S::Op, S::Ret>> = match serde_json::from_value(calls) {
        Ok(calls) => calls,
        Err(problem) => {
            eprintln!("{path}: calls: {problem}");
            std::process::exit(2);
        }
    };
    let unknown = calls.iter().filter(|c| c.ret.is_none()).count();
    match check(init, &calls) {
        Verdict::Linearizable(order) => {
            println!(
                "{path}: linearizable: {} calls ({unknown} of unknown outcome), {} ordered",
                calls.len(),
                order.len()
            );
            false
        }
        Verdict::Malformed(problem) => {
            eprintln!("{path}: malformed: {problem}");
            std::process::exit(2);
        }
        Verdict::Anomaly { failing, prefix, core } => {
            println!(
                "{path}: NOT LINEARIZABLE: {} calls ({unknown} of unknown outcome)",
                calls.len()
            );
            println!("  the first answer no order explains: {}", shown(&failing));
            let (answers, changes): (Vec<_>, Vec<_>) =
                core.iter().partition(|c| S::changes_nothing(&c.op, c.ret.as_ref()));
            println!(
                "  these {} reads and refusals cannot all be given (drop any one and the rest can be ordered):",
                answers.len()
            );
            for call in &answers {
                println!("    {}", shown(call));
            }
            println!("  with the {} changes sent before them:", changes.len());
            for call in &changes {
                println!("    {}", shown(call));
            }
            println!(
                "  ({} calls were sent up to the first answer no order explains)",
                prefix.len()
            );
            true
        }
    }
}

fn shown<Op: Debug, Ret: Debug>(call: &Call<Op, Ret>) -> String {
    match (&call.ret, call.returned_at) {
        (Some(ret), Some(at)) => format!(
            "client {} [{} .. {} µs] {:?} -> {:?}",
            call.client, call.invoked_at, at, call.op, ret
        ),
        _ => format!(
            "client {} [{} .. ? µs] {:?} -> unknown",
            call.client, call.invoked_at, call.op
        ),
    }
}
