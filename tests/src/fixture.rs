//! A small world for rollout tests, built in a [`Ministack`]: a function with two published
//! versions behind an alias, CloudWatch alarms driven by `SetAlarmState`, and an SNS topic
//! with an SQS subscriber whose deliveries tests can read back.

use std::path::PathBuf;
use std::process::{Child, Output, Stdio};

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, StateValue, Statistic, Tag};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{AliasRoutingConfiguration, FunctionCode, Runtime};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;

use crate::host::repo_root;
use crate::lambda_zip::{bootstrap_zip, echo_bootstrap};
use crate::Ministack;

pub const ROLE: &str = "arn:aws:iam::000000000000:role/lambda-role";

/// Clients for the services rollouts touch, plus the topic's subscriber queue.
pub struct World {
    pub lambda: aws_sdk_lambda::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub topic_arn: String,
    queue_url: String,
}

/// An alias as a test sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Alias {
    pub version: String,
    pub routing: Option<(String, f64)>,
    pub revision_id: String,
}

impl World {
    /// Clients on `stack`, and a topic `rollouts` with an SQS subscriber.
    pub async fn new(stack: &Ministack) -> World {
        let config = stack.sdk_config();
        let sns = aws_sdk_sns::Client::new(&config);
        let sqs = aws_sdk_sqs::Client::new(&config);
        let topic_arn = sns
            .create_topic()
            .name("rollouts")
            .send()
            .await
            .expect("create_topic");
        let topic_arn = topic_arn.topic_arn().expect("topic arn").to_string();
        let queue = sqs
            .create_queue()
            .queue_name("rollout-events")
            .send()
            .await
            .expect("create_queue");
        let queue_url = queue.queue_url().expect("queue url").to_string();
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("get_queue_attributes");
        let queue_arn =
            attributes.attributes().expect("attributes")[&QueueAttributeName::QueueArn].clone();
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await
            .expect("subscribe");
        World {
            lambda: aws_sdk_lambda::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            sns,
            sqs,
            topic_arn,
            queue_url,
        }
    }

    /// The same world seen from another region of the emulator (which keeps regions apart):
    /// its Lambda and CloudWatch clients sign for `region`; the topic and queue stay home.
    pub fn in_region(&self, stack: &Ministack, region: &str) -> World {
        let config = stack
            .sdk_config()
            .into_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build();
        World {
            lambda: aws_sdk_lambda::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            sns: self.sns.clone(),
            sqs: self.sqs.clone(),
            topic_arn: self.topic_arn.clone(),
            queue_url: self.queue_url.clone(),
        }
    }

    /// Creates `name` with versions 1 and 2 (answering `{"version":"one"|"two"}`), and alias
    /// `live` on version 1. Nothing waits for the versions to be `Active`: like a pipeline, a
    /// test starts its rollout right away and the product waits.
    pub async fn function_with_two_versions(&self, name: &str) {
        let code = FunctionCode::builder()
            .zip_file(Blob::new(bootstrap_zip(&echo_bootstrap("one"))))
            .build();
        self.lambda
            .create_function()
            .function_name(name)
            .runtime(Runtime::Providedal2023)
            .handler("bootstrap")
            .role(ROLE)
            .code(code)
            .send()
            .await
            .expect("create_function");
        self.lambda
            .publish_version()
            .function_name(name)
            .send()
            .await
            .expect("publish 1");
        self.lambda
            .update_function_code()
            .function_name(name)
            .zip_file(Blob::new(bootstrap_zip(&echo_bootstrap("two"))))
            .send()
            .await
            .expect("update_function_code");
        self.lambda
            .publish_version()
            .function_name(name)
            .send()
            .await
            .expect("publish 2");
        self.lambda
            .create_alias()
            .function_name(name)
            .name("live")
            .function_version("1")
            .send()
            .await
            .expect("create_alias");
    }

    /// Publishes one more version of `name` (answering with `tag`) and returns its number at
    /// once: the new version is still `Pending` for a moment, as on AWS.
    pub async fn publish_version(&self, name: &str, tag: &str) -> String {
        self.lambda
            .update_function_code()
            .function_name(name)
            .zip_file(Blob::new(bootstrap_zip(&echo_bootstrap(tag))))
            .send()
            .await
            .expect("update_function_code");
        let out = self
            .lambda
            .publish_version()
            .function_name(name)
            .send()
            .await
            .expect("publish_version");
        out.version().expect("version").to_string()
    }

    /// Publishes one more version of `name` that runs as `role` (a user changes the role,
    /// waits for the update to finish, and publishes) and returns its number at once.
    pub async fn publish_version_with_role(&self, name: &str, role: &str) -> String {
        self.lambda
            .update_function_configuration()
            .function_name(name)
            .role(role)
            .send()
            .await
            .expect("update_function_configuration");
        self.wait_until_active(name, "$LATEST").await;
        let out = self
            .lambda
            .publish_version()
            .function_name(name)
            .send()
            .await
            .expect("publish_version");
        out.version().expect("version").to_string()
    }

    /// Waits for `name` at `version` to be `Active` with its last update done, where a user
    /// would wait too: before invoking a function just created, before publishing over an
    /// update in progress. Never before a rollout: the product waits for that itself.
    pub async fn wait_until_active(&self, name: &str, version: &str) {
        for _ in 0..100 {
            let config = self
                .lambda
                .get_function_configuration()
                .function_name(name)
                .qualifier(version)
                .send()
                .await
                .expect("get_function_configuration");
            let updated = config.last_update_status()
                != Some(&aws_sdk_lambda::types::LastUpdateStatus::InProgress);
            if config.state() == Some(&aws_sdk_lambda::types::State::Active) && updated {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{name}:{version} never became Active");
    }

    /// Deploys one of the workspace's function binaries into the emulator as a
    /// `provided.al2023` function: the package's `bootstrap` execs the host build, which then
    /// talks to ministack's Runtime API like on Lambda.
    pub async fn deploy_binary(&self, name: &str, binary_name: &str, env: &[(&str, &str)]) {
        let script = format!("#!/bin/sh\nexec '{}'\n", binary(binary_name).display());
        let variables = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.lambda
            .create_function()
            .function_name(name)
            .runtime(Runtime::Providedal2023)
            .handler("bootstrap")
            .role(ROLE)
            .timeout(30)
            .environment(
                aws_sdk_lambda::types::Environment::builder()
                    .set_variables(Some(variables))
                    .build(),
            )
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(bootstrap_zip(&script)))
                    .build(),
            )
            .send()
            .await
            .expect("create_function");
        self.wait_until_active(name, "$LATEST").await;
    }

    /// An SQS queue `name` that triggers `function` (at `qualifier`, or the unqualified
    /// function); returns the event source mapping's UUID.
    pub async fn queue_trigger(
        &self,
        name: &str,
        function: &str,
        qualifier: Option<&str>,
    ) -> String {
        let queue_url = self
            .sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .expect("create_queue")
            .queue_url()
            .expect("queue url")
            .to_string();
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("get_queue_attributes");
        let queue_arn =
            attributes.attributes().expect("attributes")[&QueueAttributeName::QueueArn].clone();
        let target = match qualifier {
            Some(q) => format!("{function}:{q}"),
            None => function.to_string(),
        };
        self.lambda
            .create_event_source_mapping()
            .function_name(target)
            .event_source_arn(queue_arn)
            .send()
            .await
            .expect("create_event_source_mapping")
            .uuid()
            .expect("uuid")
            .to_string()
    }

    /// Invokes `name` with `payload`; returns (FunctionError if any, the answer as JSON).
    pub async fn invoke(&self, name: &str, payload: &Value) -> (Option<String>, Value) {
        let out = self
            .lambda
            .invoke()
            .function_name(name)
            .payload(Blob::new(payload.to_string()))
            .send()
            .await
            .expect("invoke");
        let body = out
            .payload()
            .map(|p| p.as_ref().to_vec())
            .unwrap_or_default();
        let answer = serde_json::from_slice(&body)
            .unwrap_or(Value::String(String::from_utf8_lossy(&body).into()));
        (out.function_error().map(String::from), answer)
    }

    pub async fn alias(&self, function: &str) -> Alias {
        let out = self
            .lambda
            .get_alias()
            .function_name(function)
            .name("live")
            .send()
            .await
            .expect("get_alias");
        Alias {
            version: out.function_version().unwrap_or_default().to_string(),
            routing: out
                .routing_config()
                .and_then(|r| r.additional_version_weights())
                .and_then(|w| w.iter().next())
                .map(|(v, w)| (v.clone(), *w)),
            revision_id: out.revision_id().unwrap_or_default().to_string(),
        }
    }

    /// Changes the alias as another deployer would (no RevisionId).
    pub async fn set_alias(&self, function: &str, version: &str, routing: Option<(&str, f64)>) {
        let weights = routing
            .into_iter()
            .map(|(v, w)| (v.to_string(), w))
            .collect();
        self.lambda
            .update_alias()
            .function_name(function)
            .name("live")
            .function_version(version)
            .routing_config(
                AliasRoutingConfiguration::builder()
                    .set_additional_version_weights(Some(weights))
                    .build(),
            )
            .send()
            .await
            .expect("update_alias");
    }

    /// An Errors alarm on `function:live`, optionally tagged with `lambda-rollout:guards`.
    pub async fn alarm(&self, name: &str, function: &str, guards_tag: Option<&str>) {
        self.alarm_on(name, function, "Errors", guards_tag).await;
    }

    /// As [`World::alarm`], on another `AWS/Lambda` metric. The emulator evaluates every
    /// alarm of a metric name at each PutMetricData, whatever its dimensions: a test that
    /// publishes `Errors` for versions (and runs a driver that publishes its weight) would see
    /// an alarm set to `ALARM` on `Errors` flipped back to `OK`.
    pub async fn alarm_on(
        &self,
        name: &str,
        function: &str,
        metric: &str,
        guards_tag: Option<&str>,
    ) {
        let dimension = |n: &str, v: &str| Dimension::builder().name(n).value(v).build();
        let mut request = self
            .cloudwatch
            .put_metric_alarm()
            .alarm_name(name)
            .namespace("AWS/Lambda")
            .metric_name(metric)
            .dimensions(dimension("FunctionName", function))
            .dimensions(dimension("Resource", &format!("{function}:live")))
            .statistic(Statistic::Sum)
            .period(60)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold);
        if let Some(guards) = guards_tag {
            request = request.tags(
                Tag::builder()
                    .key("lambda-rollout:guards")
                    .value(guards)
                    .build(),
            );
        }
        request.send().await.expect("put_metric_alarm");
        self.set_alarm(name, StateValue::Ok).await;
    }

    /// Calls of `version` through `function:live` as Lambda reports them: `AWS/Lambda`
    /// `Invocations`, `Errors` and `Duration` (one value per call, in ms) with dimensions
    /// `FunctionName`, `Resource` and `ExecutedVersion`, at the current minute.
    pub async fn put_version_metrics(
        &self,
        function: &str,
        version: &str,
        invocations: u64,
        errors: u64,
        duration_ms: f64,
    ) {
        use aws_sdk_cloudwatch::primitives::DateTime;
        use aws_sdk_cloudwatch::types::{MetricDatum, StandardUnit};
        let resource = format!("{function}:live");
        let dimensions: Vec<Dimension> = [
            ("FunctionName", function),
            ("Resource", resource.as_str()),
            ("ExecutedVersion", version),
        ]
        .iter()
        .map(|(n, v)| Dimension::builder().name(*n).value(*v).build())
        .collect();
        let now = DateTime::from_secs(chrono::Utc::now().timestamp());
        let datum = |name: &str, value: f64, unit: StandardUnit| {
            MetricDatum::builder()
                .metric_name(name)
                .set_dimensions(Some(dimensions.clone()))
                .timestamp(now)
                .value(value)
                .unit(unit)
                .build()
        };
        let mut durations = MetricDatum::builder()
            .metric_name("Duration")
            .set_dimensions(Some(dimensions.clone()))
            .timestamp(now)
            .unit(StandardUnit::Milliseconds);
        if invocations > 0 {
            durations = durations.values(duration_ms).counts(invocations as f64);
        }
        let mut request = self
            .cloudwatch
            .put_metric_data()
            .namespace("AWS/Lambda")
            .metric_data(datum(
                "Invocations",
                invocations as f64,
                StandardUnit::Count,
            ))
            .metric_data(datum("Errors", errors as f64, StandardUnit::Count));
        if invocations > 0 {
            request = request.metric_data(durations.build());
        }
        request.send().await.expect("put_metric_data");
    }

    pub async fn set_alarm(&self, name: &str, state: StateValue) {
        self.cloudwatch
            .set_alarm_state()
            .alarm_name(name)
            .state_value(state)
            .state_reason("set by the test")
            .send()
            .await
            .expect("set_alarm_state");
    }

    pub async fn alarm_arn(&self, name: &str) -> String {
        let out = self
            .cloudwatch
            .describe_alarms()
            .alarm_names(name)
            .send()
            .await
            .expect("describe_alarms");
        out.metric_alarms()[0]
            .alarm_arn()
            .expect("alarm arn")
            .to_string()
    }

    /// Another SNS topic `name` with an SQS queue subscribed (raw delivery off, as a user's
    /// would be); its ARN and the queue's URL.
    pub async fn subscribed_queue(&self, name: &str) -> (String, String) {
        let topic = self
            .sns
            .create_topic()
            .name(name)
            .send()
            .await
            .expect("create_topic")
            .topic_arn()
            .expect("topic arn")
            .to_string();
        let url = self
            .sqs
            .create_queue()
            .queue_name(format!("{name}-queue"))
            .send()
            .await
            .expect("create_queue")
            .queue_url()
            .expect("queue url")
            .to_string();
        let arn = self
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("get_queue_attributes")
            .attributes()
            .expect("attributes")[&QueueAttributeName::QueueArn]
            .clone();
        self.sns
            .subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(arn)
            .send()
            .await
            .expect("subscribe");
        (topic, url)
    }

    /// Every SNS message delivered to `queue_url` so far, its `Message` parsed as JSON.
    pub async fn messages(&self, queue_url: &str) -> Vec<Value> {
        let mut all = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receive_message");
            if out.messages().is_empty() {
                return all;
            }
            for m in out.messages() {
                let envelope: Value =
                    serde_json::from_str(m.body().unwrap_or_default()).expect("envelope");
                all.push(
                    serde_json::from_str(envelope["Message"].as_str().unwrap_or_default())
                        .expect("message json"),
                );
                self.sqs
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete_message");
            }
        }
    }

    /// Every notification delivered so far, as the `default` JSON each carried, with the
    /// envelope's `Subject` added as `_subject` and attributes as `_attributes`.
    pub async fn notifications(&self) -> Vec<Value> {
        let mut all = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receive_message");
            if out.messages().is_empty() {
                return all;
            }
            for m in out.messages() {
                let envelope: Value =
                    serde_json::from_str(m.body().unwrap_or_default()).expect("envelope");
                let mut event: Value =
                    serde_json::from_str(envelope["Message"].as_str().unwrap_or_default())
                        .expect("event json");
                event["_subject"] = envelope["Subject"].clone();
                event["_attributes"] = envelope["MessageAttributes"].clone();
                all.push(event);
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete_message");
            }
        }
    }

    /// Waits (up to 10 s) until `function`'s alias is split, as a person watching
    /// `rollout status` would before acting.
    /// Provisioned concurrency on `function:live` (the emulator allocates it at once).
    pub async fn provision(&self, function: &str, executions: i32) {
        self.lambda
            .put_provisioned_concurrency_config()
            .function_name(function)
            .qualifier("live")
            .provisioned_concurrent_executions(executions)
            .send()
            .await
            .expect("put_provisioned_concurrency_config");
    }

    pub async fn until_split(&self, function: &str) {
        for _ in 0..100 {
            if self.alias(function).await.routing.is_some() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{function}'s alias was never split");
    }

    /// The `event` names a subscriber keeps after dropping duplicates by `eventId`.
    pub async fn kept_events(&self) -> Vec<String> {
        kept(&self.notifications().await)
            .iter()
            .map(|n| n["event"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// The `event` names of [`World::notifications`].
    pub async fn events(&self) -> Vec<String> {
        self.notifications()
            .await
            .iter()
            .map(|n| n["event"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

/// lambda-rollout's own metric `name` (`TrafficWeight`, `CanaryVerdict`) for
/// `function:live` over the last ten minutes, oldest first, per `period` seconds (Maximum),
/// as a dashboard reads it with GetMetricData.
pub async fn own_metric(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    name: &str,
    function: &str,
    period: i32,
) -> Vec<f64> {
    use aws_sdk_cloudwatch::primitives::DateTime;
    use aws_sdk_cloudwatch::types::{Metric, MetricDataQuery, MetricStat, ScanBy};
    let now = chrono::Utc::now().timestamp();
    let metric = Metric::builder()
        .namespace("LambdaRollout")
        .metric_name(name)
        .dimensions(
            Dimension::builder()
                .name("FunctionName")
                .value(function)
                .build(),
        )
        .dimensions(Dimension::builder().name("Alias").value("live").build())
        .build();
    let out = cloudwatch
        .get_metric_data()
        .start_time(DateTime::from_secs(now - 600))
        .end_time(DateTime::from_secs(now + 60))
        .scan_by(ScanBy::TimestampAscending)
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("m")
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric)
                        .period(period)
                        .stat("Maximum")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("get_metric_data");
    out.metric_data_results()
        .first()
        .map(|r| r.values().to_vec())
        .unwrap_or_default()
}

/// An EventBridge rule on the default bus for `source` `lambda-rollout`, with an SQS queue
/// as its target, as a user would subscribe; returns the queue's URL.
pub async fn rollout_events_rule(stack: &Ministack, sqs: &aws_sdk_sqs::Client) -> String {
    let events = aws_sdk_eventbridge::Client::new(&stack.sdk_config());
    let url = sqs
        .create_queue()
        .queue_name("bus-events")
        .send()
        .await
        .expect("create_queue")
        .queue_url()
        .expect("queue url")
        .to_string();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("get_queue_attributes")
        .attributes()
        .expect("attributes")[&QueueAttributeName::QueueArn]
        .clone();
    events
        .put_rule()
        .name("rollout-events")
        .event_pattern(r#"{"source": ["lambda-rollout"]}"#)
        .send()
        .await
        .expect("put_rule");
    events
        .put_targets()
        .rule("rollout-events")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(arn)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("put_targets");
    url
}

/// Every message on the queue at `url` so far, as JSON, consumed.
pub async fn drain_queue(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Value> {
    let mut all = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive_message");
        if out.messages().is_empty() {
            return all;
        }
        for m in out.messages() {
            all.push(serde_json::from_str(m.body().unwrap_or_default()).expect("json body"));
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete_message");
        }
    }
}

/// Notifications de-duplicated by `eventId`, as a careful subscriber keeps them.
pub fn kept(notifications: &[Value]) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    notifications
        .iter()
        .filter(|n| seen.insert(n["eventId"].as_str().unwrap_or_default().to_string()))
        .cloned()
        .collect()
}

/// A workspace binary (built by `cargo build`, which the test command runs first).
pub fn binary(name: &str) -> PathBuf {
    let path = crate::host::target_dir().join("debug").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` first",
        path.display()
    );
    path
}

/// The `rollout` command against `stack`, ready to run.
pub fn rollout_command(stack: &Ministack, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(binary("rollout"));
    command
        .args(args)
        .envs(stack.env())
        .env_remove("AWS_PROFILE")
        .current_dir(repo_root());
    command
}

/// Runs the `rollout` command against `stack`.
pub fn rollout_cli(stack: &Ministack, args: &[&str]) -> Output {
    rollout_command(stack, args).output().expect("run rollout")
}

/// Runs the `rollout` command against `stack` with `env` added (e.g. `EVENT_BUS_NAME`).
pub fn rollout_cli_with(stack: &Ministack, env: &[(&str, &str)], args: &[&str]) -> Output {
    rollout_command(stack, args)
        .envs(env.iter().copied())
        .output()
        .expect("run rollout")
}

/// A command's stdout as the one JSON document it must be; if it is not, the test fails
/// showing both streams.
pub fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Starts the `rollout` command against `endpoint` (ministack's, or a proxy in front of
/// it) in the background, its output captured; the test waits for it.
pub fn spawn_rollout_cli(stack: &Ministack, endpoint: &str, args: &[&str]) -> Child {
    rollout_command(stack, args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rollout")
}

/// Everything `function` wrote to its log group (`/aws/lambda/<name>`) plus ministack's own
/// log, where it reports a function's stderr.
pub async fn function_logs(stack: &Ministack, function: &str) -> String {
    let mut text = log_group(stack, function).await.join("\n");
    text.push('\n');
    text.push_str(&std::fs::read_to_string(stack.log_path()).unwrap_or_default());
    text
}

/// The messages of `function`'s log group (`/aws/lambda/<name>`) alone, in order: what
/// CloudWatch Logs holds, and extracts embedded metrics from.
pub async fn log_group(stack: &Ministack, function: &str) -> Vec<String> {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&stack.sdk_config());
    let mut messages = Vec::new();
    let mut pages = logs
        .filter_log_events()
        .log_group_name(format!("/aws/lambda/{function}"))
        .into_paginator()
        .send();
    while let Some(Ok(page)) = pages.next().await {
        for event in page.events() {
            messages.extend(event.message().map(str::to_string));
        }
    }
    messages
}
