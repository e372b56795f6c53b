//! Splits a customer's balance of one credit entitlement over shard items,
//! or merges it back, so a burst of debits is not bound by one item's write
//! rate (docs/CAPACITY.md), and prints the balance as JSON:
//! `credit-shards <business_id> <credit_entitlement_id> <customer_id> <2..16 | off>`.
//! Talks to the table named by TABLE_NAME, like mint-api-key.

use licensing::App;

const USAGE: &str = "usage: credit-shards <business_id> <credit_entitlement_id> <customer_id> <2..16 | off>";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let wanted = match args.get(3).map(String::as_str) {
        Some("off") => Some(None),
        Some(count) => count.parse::<u32>().ok().map(Some),
        None => None,
    };
    let (Some(wanted), [business, entitlement, customer, _]) = (wanted, args.as_slice()) else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let app = App::from_env().await;
    match licensing::services::credit_shards::split(&app, (business, entitlement, customer), wanted).await {
        Ok(done) => println!("{}", serde_json::to_string(&done).unwrap_or_default()),
        Err(err) => {
            eprintln!("{}: {}", err.code, err.message);
            std::process::exit(1);
        }
    }
}
