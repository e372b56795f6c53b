//! Splits an organization's pool of one product code over shard items, or
//! merges it back, so a burst of seat assignments is not bound by one item's
//! write rate (docs/CAPACITY.md), and prints the pool as JSON:
//! `pool-shards <accountId> <code> <2..32 | off>`.
//! Talks to the table named by TABLE_NAME, like mint-api-key.

use licensing::App;

const USAGE: &str = "usage: pool-shards <accountId> <code> <2..32 | off>";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let wanted = match args.get(2).map(String::as_str) {
        Some("off") => Some(None),
        Some(count) => count.parse::<u32>().ok().map(Some),
        None => None,
    };
    let (Some(wanted), [account, code, _]) = (wanted, args.as_slice()) else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let app = App::from_env().await;
    match licensing::services::allocation::set_pool_shards(&app, account, code, wanted, "operator:pool-shards").await {
        Ok(pool) => {
            let printed = serde_json::json!({
                "accountId": account,
                "code": code,
                "quantity": pool.quantity,
                "allocated": pool.allocated,
                "shards": pool.shards,
            });
            println!("{printed}");
        }
        Err(err) => {
            eprintln!("{}: {}", err.code, err.message);
            std::process::exit(1);
        }
    }
}
