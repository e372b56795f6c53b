//! Mints an API key for a principal and prints it once, as JSON:
//! `mint-api-key business:<id> | host:<id> | organization:<id>`; for a
//! business, `--name "<name>"` also sets the name its customer portal shows.
//! Talks to the table named by TABLE_NAME, locally or in AWS, through the
//! standard AWS environment (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB).

use licensing::auth::{hash_secret, mint_secret, Principal};
use licensing::{clock, ids, App};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (principal, name) = match args.as_slice() {
        [principal] => (Principal::parse(principal), None),
        [principal, flag, name] if flag == "--name" && principal.starts_with("business:") => (
            Principal::parse(principal),
            Some(name.trim()).filter(|n| !n.is_empty() && n.len() <= 200),
        ),
        _ => (None, None),
    };
    let Some(principal) = principal.filter(|_| args.len() == 1 || name.is_some()) else {
        eprintln!("usage: mint-api-key <business:ID | host:ID | organization:ID> [--name \"business name\"]");
        std::process::exit(2);
    };
    let app = App::from_env().await;
    if let Some(name) = name {
        if let Err(err) = app.store.put_business_name(&principal.id, name).await {
            eprintln!(
                "could not store the name in table {}: {}",
                app.store.table(),
                err.message
            );
            std::process::exit(1);
        }
    }
    let secret = mint_secret();
    let key_id = ids::new_id("key");
    if let Err(err) = app
        .store
        .put_api_key(&hash_secret(&secret), &key_id, &principal, &clock::now_rfc3339())
        .await
    {
        eprintln!(
            "could not store the key in table {}: {}",
            app.store.table(),
            err.message
        );
        std::process::exit(1);
    }
    let printed =
        serde_json::json!({ "principal": principal.to_string(), "id": principal.id, "key_id": key_id, "key": secret });
    println!("{printed}");
}
