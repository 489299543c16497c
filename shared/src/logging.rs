//! Logging for the Lambda functions, set up the same way in each: INFO and above (or what
//! `RUST_LOG` says), no timestamps (CloudWatch Logs adds its own).

pub fn init_for_lambda() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::from_default_env()
                .add_directive(tracing::Level::INFO.into()),
        )
        .without_time()
        .init();
}
