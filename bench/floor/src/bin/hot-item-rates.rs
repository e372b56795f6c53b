//! DynamoDB's own rates on one hot item, the yardstick for the contention
//! benchmark. `WRITERS` concurrent tasks each make `PER_WRITER` calls of one
//! kind, and the rate of each kind is printed as one JSON object:
//!
//! - `update`: a conditional update on one counter (`SET n = n + 1` guarded by
//!   `n < :max`, always true), what a single-item allocation would cost;
//! - `transaction`: the same update plus a put of a new item in one
//!   TransactWriteItems, the shape of a seat assignment;
//! - `batch_get`: a consistent BatchGetItem of the counter and one other item,
//!   the read an assignment makes first.
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use std::time::Instant;

const WRITERS: usize = 100;
const PER_WRITER: usize = 10;
const CALLS: usize = WRITERS * PER_WRITER;

type Item = HashMap<String, AttributeValue>;

fn key(pk: &str) -> Item {
    HashMap::from([
        ("pk".to_string(), AttributeValue::S(pk.to_string())),
        ("sk".to_string(), AttributeValue::S("BENCH".to_string())),
    ])
}

const COUNTER: &str = "BENCH#HOT-ITEM";

async fn call(client: &Client, table: &str, kind: &str, n: usize) -> Result<(), aws_sdk_dynamodb::Error> {
    let expression = "SET #n = #n + :one";
    let condition = "#n < :max";
    let names = HashMap::from([("#n".to_string(), "n".to_string())]);
    let values = HashMap::from([
        (":one".to_string(), AttributeValue::N("1".into())),
        (":max".to_string(), AttributeValue::N((10 * CALLS).to_string())),
    ]);
    match kind {
        "update" => {
            client
                .update_item()
                .table_name(table)
                .set_key(Some(key(COUNTER)))
                .update_expression(expression)
                .condition_expression(condition)
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .send()
                .await?;
        }
        "transaction" => {
            let update = Update::builder()
                .table_name(table)
                .set_key(Some(key(COUNTER)))
                .update_expression(expression)
                .condition_expression(condition)
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .build()
                .expect("complete update");
            let put = Put::builder()
                .table_name(table)
                .set_item(Some(key(&format!("BENCH#ITEM-{n}"))))
                .build()
                .expect("complete put");
            client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().update(update).build())
                .transact_items(TransactWriteItem::builder().put(put).build())
                .send()
                .await?;
        }
        _ => {
            let keys = KeysAndAttributes::builder()
                .keys(key(COUNTER))
                .keys(key(&format!("BENCH#ITEM-{n}")))
                .consistent_read(true)
                .build()
                .expect("keys given");
            client.batch_get_item().request_items(table, keys).send().await?;
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = aws_config::load_from_env().await;
    let client: &'static Client = Box::leak(Box::new(Client::new(&config)));
    let table: &'static str = Box::leak(std::env::var("TABLE_NAME")?.into_boxed_str());
    client
        .put_item()
        .table_name(table)
        .set_item(Some(key(COUNTER)))
        .item("n", AttributeValue::N("0".into()))
        .send()
        .await?;
    let mut rates = Vec::new();
    for kind in ["update", "transaction", "batch_get"] {
        let started = Instant::now();
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                tokio::spawn(async move {
                    for i in 0..PER_WRITER {
                        call(client, table, kind, w * PER_WRITER + i).await?;
                    }
                    Ok::<_, aws_sdk_dynamodb::Error>(())
                })
            })
            .collect();
        for writer in writers {
            writer.await??;
        }
        rates.push(format!(
            "\"{kind}\": {:.1}",
            CALLS as f64 / started.elapsed().as_secs_f64()
        ));
    }
    println!("{{\"calls\": {CALLS}, \"writers\": {WRITERS}, {}}}", rates.join(", "));
    Ok(())
}
