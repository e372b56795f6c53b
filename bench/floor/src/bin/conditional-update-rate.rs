//! DynamoDB's own rate of conditional updates on one item, the yardstick for
//! the contention benchmark: `TASKS` concurrent writers each add 1 to one
//! counter `UPDATES_PER_TASK` times, guarded by `n < :max` (always true), so
//! every update is a conditional write on the same item, as an allocation is.
//! Prints one JSON line: {"updates", "seconds", "per_second"}.
use aws_sdk_dynamodb::types::AttributeValue;
use std::time::Instant;

const TASKS: usize = 100;
const UPDATES_PER_TASK: usize = 10;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = aws_config::load_from_env().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = std::env::var("TABLE_NAME")?;
    let key = |c: &aws_sdk_dynamodb::Client| {
        c.update_item()
            .table_name(&table)
            .key("pk", AttributeValue::S("BENCH#CONDITIONAL-UPDATES".into()))
            .key("sk", AttributeValue::S("COUNTER".into()))
    };
    key(&client)
        .update_expression("SET #n = :zero")
        .expression_attribute_names("#n", "n")
        .expression_attribute_values(":zero", AttributeValue::N("0".into()))
        .send()
        .await?;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(TASKS);
    for _ in 0..TASKS {
        let update = key(&client)
            .update_expression("SET #n = #n + :one")
            .condition_expression("#n < :max")
            .expression_attribute_names("#n", "n")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":max", AttributeValue::N((TASKS * UPDATES_PER_TASK).to_string()));
        tasks.push(tokio::spawn(async move {
            for _ in 0..UPDATES_PER_TASK {
                update.clone().send().await?;
            }
            Ok::<_, aws_sdk_dynamodb::Error>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let updates = TASKS * UPDATES_PER_TASK;
    println!(
        "{{\"updates\": {updates}, \"seconds\": {seconds:.3}, \"per_second\": {:.1}}}",
        updates as f64 / seconds
    );
    Ok(())
}
