//! Counts the AWS calls a request makes and the time they take, and the writes
//! it tried again after losing a race, so each request's log line says what
//! its DynamoDB and SES round trips cost.
//!
//! An interceptor on the SDK clients adds to a tally that lives for one
//! request (a task-local), so concurrent invocations in one process do not mix.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use std::cell::RefCell;
use std::future::Future;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub dynamodb: u32,
    pub ses: u32,
    pub aws_time: Duration,
    pub retries: u32,
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

#[derive(Clone, Copy, Debug)]
pub enum Service {
    DynamoDb,
    Ses,
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
            }
            tally.aws_time += elapsed;
        });
        Ok(())
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
}
