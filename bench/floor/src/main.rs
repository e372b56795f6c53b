//! The least a function of this service could be: the clients every route
//! needs, built once, and a handler that uses neither.
use lambda_http::{service_fn, Body, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_from_env().await;
    let clients: &'static _ = Box::leak(Box::new((
        aws_sdk_dynamodb::Client::new(&config),
        aws_sdk_sesv2::Client::new(&config),
    )));
    lambda_http::run(service_fn(move |_: Request| async move {
        let _ = clients;
        Ok::<_, Error>(Response::new(Body::from("ok")))
    }))
    .await
}
