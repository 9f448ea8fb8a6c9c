//! The retry policy every DynamoDB adapter of the state table adds to its client: a transaction
//! cancelled only by a conflict with another is run again; any other cancellation is an answer.

use aws_sdk_dynamodb::config::interceptors::InterceptorContext;
use aws_sdk_dynamodb::config::retry::{ClassifyRetry, RetryAction};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::CancellationReason;

/// Lets the SDK retry a transaction that DynamoDB cancelled only because it met another one on
/// the same item (`TransactionConflict`, e.g. two processes writing one recipient's count).
///
/// The SDK retries no `TransactionCanceledException` by itself. A cancelled transaction wrote
/// nothing, and each attempt carries the operation's one `ClientRequestToken` (which the SDK
/// fills in), so running it again is safe; a cancellation for a failed condition is an answer,
/// never retried here (the caller decides again with what it says).
#[derive(Debug)]
pub struct ConflictIsRetried;

impl ClassifyRetry for ConflictIsRetried {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let conflict = ctx
            .output_or_error()
            .and_then(Result::err)
            .and_then(|err| err.as_operation_error())
            .and_then(|err| err.downcast_ref::<TransactWriteItemsError>())
            .is_some_and(|err| match err {
                TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                    only_conflicts(cancelled.cancellation_reasons())
                }
                _ => false,
            });
        if conflict {
            RetryAction::transient_error()
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "transaction conflicts are retried"
    }
}

/// At least one reason is a conflict, and none is a failed condition or anything else.
pub(super) fn only_conflicts(reasons: &[CancellationReason]) -> bool {
    let codes = || reasons.iter().map(|r| r.code().unwrap_or("None"));
    codes().any(|code| code == "TransactionConflict")
        && codes().all(|code| matches!(code, "None" | "TransactionConflict"))
}
