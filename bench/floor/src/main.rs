//! The least a function of this service could be: the clients every route
//! needs, built once, and a handler that makes one GetItem (the read every
//! authenticated request starts with). With `FLOOR_WARM_CONNECTION` set it
//! makes that read once during init too, so the connection is open before the
//! first event.
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{service_fn, Body, Error, Request, Response};

async fn read(db: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), Error> {
    db.get_item()
        .table_name(table)
        .key("pk", AttributeValue::S("APIKEY#floor".into()))
        .key("sk", AttributeValue::S("APIKEY".into()))
        .send()
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_from_env().await;
    let table: &'static str = Box::leak(
        std::env::var("TABLE_NAME")
            .unwrap_or_else(|_| "licensing".into())
            .into_boxed_str(),
    );
    let clients: &'static _ = Box::leak(Box::new((
        aws_sdk_dynamodb::Client::new(&config),
        aws_sdk_sesv2::Client::new(&config),
    )));
    if std::env::var_os("FLOOR_WARM_CONNECTION").is_some() {
        let _ = read(&clients.0, table).await;
    }
    lambda_http::run(service_fn(move |_: Request| async move {
        read(&clients.0, table).await?;
        Ok::<_, Error>(Response::new(Body::from("ok")))
    }))
    .await
}
