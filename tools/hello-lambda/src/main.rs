//! hello-lambda: answers every event with itself. Nothing else, so that its cold start and
//! peak RSS are the floor of any `lambda_runtime` function built with this profile.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(event.payload)
    }))
    .await
}
