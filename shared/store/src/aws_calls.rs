//! Counts the AWS calls a request makes and the time they take, and the writes
//! it tried again after losing a race, so each request's log line says what
//! its DynamoDB and SES round trips cost.
//!
//! An interceptor on the SDK clients adds to a tally that lives for one
//! request (a task-local), so concurrent invocations in one process do not mix.
//!
//! It also logs, once per process, each IAM action a call needs (a
//! transaction needs the action of each item in it), so the test suite can
//! hold every function's policy in template.yaml to what it really does.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::Input;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tally {
    pub dynamodb: u32,
    pub ses: u32,
    pub kms: u32,
    pub s3: u32,
    pub aws_time: Duration,
    pub retries: u32,
    /// The capacity units DynamoDB reported, for the calls that asked (list pages).
    pub read_units: f64,
    pub write_units: f64,
}

tokio::task_local! {
    static TALLY: RefCell<Tally>;
}

/// Runs `work` with a fresh tally and returns what it counted.
pub async fn counted<T>(work: impl Future<Output = T>) -> (T, Tally) {
    TALLY
        .scope(RefCell::new(Tally::default()), async {
            let output = work.await;
            (output, TALLY.with(|tally| *tally.borrow()))
        })
        .await
}

/// Counts one write tried again after it lost a race (a no-op outside a request).
pub fn note_retry() {
    let _ = TALLY.try_with(|tally| tally.borrow_mut().retries += 1);
}

/// Adds the capacity units DynamoDB reported for one call (a no-op outside a request).
pub fn note_units(read: f64, write: f64) {
    let _ = TALLY.try_with(|tally| {
        let mut tally = tally.borrow_mut();
        tally.read_units += read;
        tally.write_units += write;
    });
}

#[derive(Clone, Copy, Debug)]
pub enum Service {
    DynamoDb,
    Ses,
    Kms,
    S3,
}

#[derive(Debug)]
pub struct CallCounter(pub Service);

#[derive(Debug, Clone)]
struct StartedAt(Instant);

impl Storable for StartedAt {
    type Storer = StoreReplace<Self>;
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(StartedAt(Instant::now()));
        Ok(())
    }

    // The operation's name is in the config bag once its runtime plugins have run.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(operation) = cfg.load::<Metadata>() {
            for action in iam_actions(self.0, operation.name(), context.input()) {
                note_action(action);
            }
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let elapsed = cfg
            .load::<StartedAt>()
            .map(|started| started.0.elapsed())
            .unwrap_or_default();
        // Outside a request (a tool, a test) there is no tally, and nothing to count.
        let _ = TALLY.try_with(|tally| {
            let mut tally = tally.borrow_mut();
            match self.0 {
                Service::DynamoDb => tally.dynamodb += 1,
                Service::Ses => tally.ses += 1,
                Service::Kms => tally.kms += 1,
                Service::S3 => tally.s3 += 1,
            }
            tally.aws_time += elapsed;
        });
        Ok(())
    }
}

/// An IAM action and its resource: `table`, `index/<name>`, `identity` (SES) or `key` (KMS).
type IamAction = (&'static str, String);

/// The IAM actions one call needs, as `dynamodb:GetItem` on `table` or `index`.
fn iam_actions(service: Service, operation: &str, input: &Input) -> Vec<IamAction> {
    use aws_sdk_dynamodb::operation::query::QueryInput;
    use aws_sdk_dynamodb::operation::scan::ScanInput;
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
    match service {
        Service::Ses => vec![(ses_action(operation), "identity".to_string())],
        Service::Kms => vec![(kms_action(operation), "key".to_string())],
        // Every object of the bucket; a copy reads its source and writes its target.
        Service::S3 => match operation {
            "CopyObject" => vec![
                ("s3:GetObject", "object".to_string()),
                ("s3:PutObject", "object".to_string()),
            ],
            other => vec![(s3_action(other), "object".to_string())],
        },
        Service::DynamoDb => match operation {
            "TransactWriteItems" => input
                .downcast_ref::<TransactWriteItemsInput>()
                .map(|i| i.transact_items())
                .unwrap_or_default()
                .iter()
                .filter_map(|item| {
                    let action = if item.put().is_some() {
                        "dynamodb:PutItem"
                    } else if item.update().is_some() {
                        "dynamodb:UpdateItem"
                    } else if item.delete().is_some() {
                        "dynamodb:DeleteItem"
                    } else if item.condition_check().is_some() {
                        "dynamodb:ConditionCheckItem"
                    } else {
                        return None;
                    };
                    Some((action, "table".to_string()))
                })
                .collect(),
            // A snapshot read needs GetItem on each item it reads.
            "TransactGetItems" => vec![("dynamodb:GetItem", "table".to_string())],
            "Query" => {
                let index = input.downcast_ref::<QueryInput>().and_then(|q| q.index_name());
                vec![("dynamodb:Query", resource(index))]
            }
            "Scan" => {
                let index = input.downcast_ref::<ScanInput>().and_then(|q| q.index_name());
                vec![("dynamodb:Scan", resource(index))]
            }
            other => vec![(dynamodb_action(other), "table".to_string())],
        },
    }
}

fn resource(index: Option<&str>) -> String {
    index.map_or_else(|| "table".to_string(), |name| format!("index/{name}"))
}

fn dynamodb_action(operation: &str) -> &'static str {
    match operation {
        "GetItem" => "dynamodb:GetItem",
        "PutItem" => "dynamodb:PutItem",
        "UpdateItem" => "dynamodb:UpdateItem",
        "DeleteItem" => "dynamodb:DeleteItem",
        "BatchGetItem" => "dynamodb:BatchGetItem",
        "BatchWriteItem" => "dynamodb:BatchWriteItem",
        "DescribeTable" => "dynamodb:DescribeTable",
        _ => "dynamodb:(unknown)",
    }
}

fn ses_action(operation: &str) -> &'static str {
    match operation {
        "SendEmail" => "ses:SendEmail",
        _ => "ses:(unknown)",
    }
}

fn s3_action(operation: &str) -> &'static str {
    match operation {
        "GetObject" | "HeadObject" => "s3:GetObject",
        "PutObject" => "s3:PutObject",
        "DeleteObject" => "s3:DeleteObject",
        _ => "s3:(unknown)",
    }
}

fn kms_action(operation: &str) -> &'static str {
    match operation {
        "Sign" => "kms:Sign",
        "GetPublicKey" => "kms:GetPublicKey",
        _ => "kms:(unknown)",
    }
}

/// Logs an action the first time this process needs it.
/// The actions this process has needed so far.
static SEEN: Mutex<BTreeSet<IamAction>> = Mutex::new(BTreeSet::new());

fn note_action(action: IamAction) {
    let mut seen = SEEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !seen.contains(&action) {
        tracing::info!(iam_action = action.0, resource = %action.1, "aws action first used");
        seen.insert(action);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tallies_are_per_request() {
        let ((), tally) = counted(async {
            TALLY.with(|t| t.borrow_mut().dynamodb += 2);
        })
        .await;
        assert_eq!(tally.dynamodb, 2);
        let ((), fresh) = counted(async {}).await;
        assert_eq!(fresh, Tally::default());
    }

    #[test]
    fn a_transaction_needs_the_action_of_each_item_and_a_query_names_its_resource() {
        use aws_sdk_dynamodb::operation::query::QueryInput;
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
        use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};
        let key = |v: &str| AttributeValue::S(v.into());
        let put = Put::builder().table_name("t").item("pk", key("a")).build().unwrap();
        let update = Update::builder()
            .table_name("t")
            .key("pk", key("b"))
            .update_expression("SET x = :x")
            .build()
            .unwrap();
        let check = ConditionCheck::builder()
            .table_name("t")
            .key("pk", key("c"))
            .condition_expression("attribute_exists(pk)")
            .build()
            .unwrap();
        let input = TransactWriteItemsInput::builder()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(TransactWriteItem::builder().condition_check(check).build())
            .build()
            .unwrap();
        assert_eq!(
            iam_actions(Service::DynamoDb, "TransactWriteItems", &Input::erase(input)),
            [
                ("dynamodb:PutItem", "table".to_string()),
                ("dynamodb:UpdateItem", "table".to_string()),
                ("dynamodb:ConditionCheckItem", "table".to_string())
            ]
        );
        let query = QueryInput::builder()
            .table_name("t")
            .index_name("gsi1")
            .build()
            .unwrap();
        assert_eq!(
            iam_actions(Service::DynamoDb, "Query", &Input::erase(query)),
            [("dynamodb:Query", "index/gsi1".to_string())]
        );
        let get = QueryInput::builder().table_name("t").build().unwrap();
        assert_eq!(
            iam_actions(Service::DynamoDb, "BatchGetItem", &Input::erase(get)),
            [("dynamodb:BatchGetItem", "table".to_string())]
        );
        let snapshot = QueryInput::builder().table_name("t").build().unwrap();
        assert_eq!(
            iam_actions(Service::DynamoDb, "TransactGetItems", &Input::erase(snapshot)),
            [("dynamodb:GetItem", "table".to_string())]
        );
    }

    #[tokio::test]
    async fn a_call_records_its_action_even_when_it_fails() {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region("us-east-1")
            .endpoint_url("http://127.0.0.1:1")
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("a", "b", None, None, "test"))
            .load()
            .await;
        let config = aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(CallCounter(Service::DynamoDb))
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .build();
        let client = aws_sdk_dynamodb::Client::from_conf(config);
        let key = aws_sdk_dynamodb::types::AttributeValue::S("x".into());
        let _ = client.get_item().table_name("t").key("pk", key).send().await;
        let seen = SEEN.lock().unwrap().clone();
        assert!(seen.contains(&("dynamodb:GetItem", "table".to_string())), "{seen:?}");
    }
}
