//! The AWS side of the fault proxy: which service and operation a request is,
//! in each protocol the AWS Rust SDK speaks to the services we use, and how
//! that service answers throttling or a server error, so that the SDK's retry
//! classifier treats an injected fault as it would one from AWS.
//!
//! | protocol | recognised by | throttling answer |
//! | --- | --- | --- |
//! | restJson1 (Lambda) | a `/YYYY-MM-DD/…` path and the method | 429, `x-amzn-ErrorType: TooManyRequestsException`, JSON |
//! | Smithy RPC v2 CBOR (CloudWatch) | `smithy-protocol: rpc-v2-cbor`, `/service/S/operation/O` | 400, CBOR `{"__type": "com.amazonaws.cloudwatch#Throttling", "message"}` |
//! | awsQuery (SNS, CloudWatch before CBOR) | a form body with `Action=` and `Version=` | 400, XML `<Code>Throttling</Code>` |
//! | awsJson 1.0/1.1 | `X-Amz-Target: Prefix.Operation` | 400, JSON `{"__type": "ThrottlingException"}` (SQS: `RequestThrottled`) |
//!
//! Services that kept their awsQuery error codes (CloudWatch, SQS) mark their
//! requests `x-amzn-query-mode: true`; their answers then use those codes and
//! also carry `x-amzn-query-error: Code;Sender`, which the SDK prefers to the
//! body (`aws-sdk-cloudwatch`'s `parse_http_error_metadata`).

use super::http::{reason, Answer};
use super::Request;

/// The wire protocol of a request, which decides the shape of an error answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Protocol {
    RestJson,
    AwsQuery,
    RpcV2Cbor,
    AwsJson,
}

/// The errors the proxy can answer in a service's own shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ErrorKind {
    Throttle,
    Server(u16),
}

const THROTTLE_MESSAGE: &str = "Rate exceeded";
const SERVER_MESSAGE: &str = "We encountered an internal error. Please try again.";

/// `X-Amz-Target` prefixes and RPC v2 service shape names → signing name.
const TARGET_PREFIXES: &[(&str, &str)] = &[
    ("GraniteServiceVersion20100801", "monitoring"),
    ("CodeDeploy_20141006", "codedeploy"),
    ("CodePipeline_20150709", "codepipeline"),
    ("AWSStepFunctions", "states"),
    ("AWSEvents", "events"),
    ("AmazonSQS", "sqs"),
    ("Logs_20140328", "logs"),
];

/// awsQuery API versions (the `Version=` form field) → signing name.
const QUERY_VERSIONS: &[(&str, &str)] = &[
    ("2010-03-31", "sns"),
    ("2010-08-01", "monitoring"),
    ("2012-11-05", "sqs"),
];

/// Lambda's restJson1 routes: method, path (`*` is one segment), operation.
const LAMBDA_ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "2015-03-31/functions/*/aliases/*", "GetAlias"),
    ("PUT", "2015-03-31/functions/*/aliases/*", "UpdateAlias"),
    ("DELETE", "2015-03-31/functions/*/aliases/*", "DeleteAlias"),
    ("GET", "2015-03-31/functions/*/aliases", "ListAliases"),
    ("POST", "2015-03-31/functions/*/aliases", "CreateAlias"),
    (
        "GET",
        "2015-03-31/functions/*/configuration",
        "GetFunctionConfiguration",
    ),
    (
        "PUT",
        "2015-03-31/functions/*/configuration",
        "UpdateFunctionConfiguration",
    ),
    ("PUT", "2015-03-31/functions/*/code", "UpdateFunctionCode"),
    (
        "GET",
        "2015-03-31/functions/*/versions",
        "ListVersionsByFunction",
    ),
    ("POST", "2015-03-31/functions/*/versions", "PublishVersion"),
    ("POST", "2015-03-31/functions/*/invocations", "Invoke"),
    ("GET", "2015-03-31/functions/*/policy", "GetPolicy"),
    ("GET", "2015-03-31/functions/*", "GetFunction"),
    ("DELETE", "2015-03-31/functions/*", "DeleteFunction"),
    ("GET", "2015-03-31/functions", "ListFunctions"),
    ("POST", "2015-03-31/functions", "CreateFunction"),
    (
        "GET",
        "2015-03-31/event-source-mappings",
        "ListEventSourceMappings",
    ),
    ("GET", "2017-03-31/tags/*", "ListTags"),
    (
        "GET",
        "2019-09-30/functions/*/provisioned-concurrency",
        "GetProvisionedConcurrencyConfig",
    ),
    (
        "GET",
        "2021-10-31/functions/*/urls",
        "ListFunctionUrlConfigs",
    ),
    ("GET", "2021-10-31/functions/*/url", "GetFunctionUrlConfig"),
];

/// The (service signing name, operation, protocol) of a request. Never fails:
/// an unknown Lambda route is `Lambda:<METHOD> <path>`, anything else
/// `<METHOD> <path>` of the service in the SigV4 scope (or `unknown`).
pub(super) fn recognise(request: &Request) -> (String, String, Protocol) {
    let path = request.path();
    let cbor = request
        .header("smithy-protocol")
        .is_some_and(|p| p.eq_ignore_ascii_case("rpc-v2-cbor"));
    if cbor || path.starts_with("/service/") {
        // `/service/{ServiceShape}/operation/{Operation}`
        let segments: Vec<&str> = path.split('/').collect();
        let shape = segments.get(2).copied().unwrap_or_default();
        let operation = segments.get(4).copied().unwrap_or_default();
        return (
            service_named(shape, request),
            operation.into(),
            Protocol::RpcV2Cbor,
        );
    }
    if let Some(target) = request.header("x-amz-target") {
        let (prefix, operation) = target.rsplit_once('.').unwrap_or(("", target));
        return (
            service_named(prefix, request),
            operation.into(),
            Protocol::AwsJson,
        );
    }
    if let Some(action) = form_field(request, "Action") {
        let service = form_field(request, "Version")
            .and_then(|version| lookup(QUERY_VERSIONS, &version))
            .map(str::to_owned)
            .or_else(|| signing_name(request))
            .unwrap_or_else(|| "unknown".into());
        return (service, action, Protocol::AwsQuery);
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let method = &request.method;
    if segments.first().is_some_and(|s| is_api_date(s)) {
        let operation = lambda_operation(method, &segments, request.query())
            .map_or_else(|| format!("Lambda:{method} {path}"), str::to_owned);
        return ("lambda".into(), operation, Protocol::RestJson);
    }
    let service = signing_name(request).unwrap_or_else(|| "unknown".into());
    (service, format!("{method} {path}"), Protocol::RestJson)
}

/// The error `kind` as the request's service sends it.
pub(super) fn error_answer(request: &Request, kind: ErrorKind, request_id: &str) -> Answer {
    let service = request.service.as_str();
    // awsQuery-compatible services (CloudWatch, SQS) kept their query codes.
    let query_mode = request.header("x-amzn-query-mode").is_some();
    let (status, code, fault_type, message) = match (request.protocol, kind) {
        (Protocol::RestJson, ErrorKind::Throttle) => {
            (429, "TooManyRequestsException", "User", THROTTLE_MESSAGE)
        }
        (Protocol::RestJson, ErrorKind::Server(s)) => {
            (s, "ServiceException", "Service", SERVER_MESSAGE)
        }
        (_, ErrorKind::Throttle) if service == "sqs" => {
            (400, "RequestThrottled", "Sender", THROTTLE_MESSAGE)
        }
        (Protocol::AwsJson, ErrorKind::Throttle) if !query_mode => {
            (400, "ThrottlingException", "Sender", THROTTLE_MESSAGE)
        }
        (_, ErrorKind::Throttle) => (400, "Throttling", "Sender", THROTTLE_MESSAGE),
        (_, ErrorKind::Server(s)) => (s, server_code(service, s), "Receiver", SERVER_MESSAGE),
    };
    let mut headers = vec![("x-amzn-RequestId".to_owned(), request_id.to_owned())];
    let mut header = |name: &str, value: &str| headers.push((name.to_owned(), value.to_owned()));
    if query_mode {
        header("x-amzn-query-error", &format!("{code};{fault_type}"));
    }
    let body = match request.protocol {
        Protocol::RestJson => {
            header("Content-Type", "application/json");
            header("x-amzn-ErrorType", code);
            match kind {
                ErrorKind::Throttle => format!(
                    r#"{{"message":"{message}","Type":"{fault_type}","Reason":"CallerRateLimitExceeded"}}"#
                ),
                ErrorKind::Server(_) => format!(r#"{{"Type":"{fault_type}","Message":"{message}"}}"#),
            }
            .into_bytes()
        }
        Protocol::AwsQuery => {
            header("Content-Type", "text/xml");
            let version = form_field(request, "Version").unwrap_or_default();
            format!(
                r#"<ErrorResponse xmlns="http://{service}.amazonaws.com/doc/{version}/"><Error><Type>{fault_type}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"#
            )
            .into_bytes()
        }
        Protocol::RpcV2Cbor => {
            header("smithy-protocol", "rpc-v2-cbor");
            header("Content-Type", "application/cbor");
            // The spec wants the absolute shape ID; the SDK keeps what follows `#`.
            let namespace = if service == "monitoring" {
                "cloudwatch"
            } else {
                service
            };
            let error_type = format!("com.amazonaws.{namespace}#{code}");
            cbor_text_map(&[("__type", &error_type), ("message", message)])
        }
        Protocol::AwsJson => {
            let json = request
                .header("content-type")
                .unwrap_or("application/x-amz-json-1.1");
            header("Content-Type", json);
            format!(r#"{{"__type":"{code}","message":"{message}"}}"#).into_bytes()
        }
    };
    Answer {
        status,
        reason: reason(status).into(),
        headers,
        body,
    }
}

/// The service's answer with `status` and `body` (already in its protocol's encoding), as
/// the test wrote it.
pub(super) fn answer(request: &Request, status: u16, body: &[u8], request_id: &str) -> Answer {
    let mut headers = vec![("x-amzn-RequestId".to_owned(), request_id.to_owned())];
    let mut header = |name: &str, value: &str| headers.push((name.to_owned(), value.to_owned()));
    match request.protocol {
        Protocol::RpcV2Cbor => {
            header("smithy-protocol", "rpc-v2-cbor");
            header("Content-Type", "application/cbor");
        }
        Protocol::AwsQuery => header("Content-Type", "text/xml"),
        Protocol::RestJson | Protocol::AwsJson => header("Content-Type", "application/json"),
    }
    Answer {
        status,
        reason: reason(status).into(),
        headers,
        body: body.to_vec(),
    }
}

/// The code a service gives its own 5xx (every SDK retries 500/502/503/504).
fn server_code(service: &str, status: u16) -> &'static str {
    match (service, status) {
        (_, 503) => "ServiceUnavailable",
        ("sns", _) => "InternalError",
        ("monitoring", _) => "InternalServiceError",
        _ => "InternalFailure",
    }
}

fn lambda_operation(method: &str, segments: &[&str], query: &str) -> Option<&'static str> {
    let (_, _, operation) = LAMBDA_ROUTES.iter().find(|(m, pattern, _)| {
        *m == method
            && pattern.split('/').count() == segments.len()
            && pattern
                .split('/')
                .zip(segments)
                .all(|(p, s)| p == "*" || p == *s)
    })?;
    // Listing and reading provisioned concurrency share a path.
    if *operation == "GetProvisionedConcurrencyConfig"
        && query.split('&').any(|kv| kv == "List=ALL")
    {
        return Some("ListProvisionedConcurrencyConfigs");
    }
    Some(operation)
}

fn service_named(name: &str, request: &Request) -> String {
    lookup(TARGET_PREFIXES, name)
        .map(str::to_owned)
        .or_else(|| signing_name(request))
        .unwrap_or_else(|| name.to_ascii_lowercase())
}

/// The service of the SigV4 scope: `Credential=AKID/DATE/REGION/SERVICE/aws4_request`.
fn signing_name(request: &Request) -> Option<String> {
    let credential = request
        .header("authorization")?
        .split("Credential=")
        .nth(1)?;
    let scope = credential.split([',', ' ']).next()?;
    scope.split('/').nth(3).map(str::to_owned)
}

/// A field of an urlencoded form body (values we read need no decoding).
fn form_field(request: &Request, name: &str) -> Option<String> {
    let content_type = request.header("content-type")?;
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return None;
    }
    request
        .body_text()
        .split('&')
        .find_map(|pair| Some(pair.strip_prefix(name)?.strip_prefix('=')?.to_owned()))
}

fn lookup(table: &[(&str, &'static str)], key: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// `YYYY-MM-DD`, the first segment of every Lambda API path.
fn is_api_date(segment: &str) -> bool {
    segment.len() == 10
        && segment.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// A CBOR map of text strings with definite lengths (RFC 8949 §3.1): all an
/// error envelope needs.
fn cbor_text_map(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    cbor_head(&mut out, 5, entries.len());
    for text in entries.iter().flat_map(|(key, value)| [key, value]) {
        cbor_head(&mut out, 3, text.len());
        out.extend_from_slice(text.as_bytes());
    }
    out
}

fn cbor_head(out: &mut Vec<u8>, major: u8, len: usize) {
    let major = major << 5;
    match len {
        0..=23 => out.push(major | len as u8),
        24..=0xff => out.extend([major | 24, len as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend((len as u16).to_be_bytes());
        }
        _ => {
            out.push(major | 26);
            out.extend((len as u32).to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::samples::*;
    use super::*;

    fn error(raw: &[u8], kind: ErrorKind) -> Answer {
        error_answer(&parse(raw), kind, "req-1")
    }

    fn text(answer: &Answer) -> &str {
        std::str::from_utf8(&answer.body).unwrap()
    }

    #[test]
    fn recognises_the_operation_of_every_protocol() {
        let lambda = |method, target: &str, operation: &str| {
            (
                lambda_call(method, target, ""),
                "lambda",
                operation.to_owned(),
            )
        };
        let mut cases = vec![
            lambda("GET", "/2015-03-31/functions/orders-api/aliases/live", "GetAlias"),
            lambda("PUT", "/2015-03-31/functions/orders-api/aliases/live", "UpdateAlias"),
            lambda("GET", "/2015-03-31/functions/orders-api/aliases", "ListAliases"),
            lambda("GET", "/2015-03-31/functions/orders-api/configuration?Qualifier=7", "GetFunctionConfiguration"),
            lambda("POST", "/2015-03-31/functions/orders-api/versions", "PublishVersion"),
            lambda("POST", "/2015-03-31/functions/orders-api/invocations?Qualifier=7", "Invoke"),
            lambda("GET", "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Aorders-api", "ListTags"),
            lambda("GET", "/2019-09-30/functions/orders-api/provisioned-concurrency?Qualifier=live", "GetProvisionedConcurrencyConfig"),
            lambda("GET", "/2019-09-30/functions/orders-api/provisioned-concurrency?List=ALL", "ListProvisionedConcurrencyConfigs"),
            lambda("GET", "/2015-03-31/event-source-mappings/?FunctionName=orders-api%3Alive", "ListEventSourceMappings"),
            lambda("GET", "/2021-10-31/functions/orders-api/urls", "ListFunctionUrlConfigs"),
            lambda("GET", "/2015-03-31/functions/orders-api/policy?Qualifier=live", "GetPolicy"),
            lambda("GET", "/2020-06-30/functions/orders-api/code-signing-config", "Lambda:GET /2020-06-30/functions/orders-api/code-signing-config"),
        ];
        for operation in [
            "DescribeAlarms",
            "ListTagsForResource",
            "GetMetricData",
            "PutMetricData",
            "SetAlarmState",
            "DescribeAlarmHistory",
            "PutDashboard",
        ] {
            cases.push((cbor_call(operation), "monitoring", operation.to_owned()));
        }
        let form = "Action=DescribeAlarms&Version=2010-08-01&AlarmNames.member.1=high-errors";
        cases.push((
            query_call("monitoring", form),
            "monitoring",
            "DescribeAlarms".into(),
        ));
        cases.push((publish(), "sns", "Publish".into()));
        for (service, target) in [
            (
                "codedeploy",
                "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus",
            ),
            ("codepipeline", "CodePipeline_20150709.PutJobSuccessResult"),
            ("states", "AWSStepFunctions.StartExecution"),
            ("events", "AWSEvents.PutEvents"),
            ("sqs", "AmazonSQS.ReceiveMessage"),
        ] {
            let operation = target.rsplit('.').next().unwrap().to_owned();
            cases.push((json_call(service, target), service, operation));
        }
        let health = b"GET /_ministack/health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n".to_vec();
        cases.push((health, "unknown", "GET /_ministack/health".into()));

        for (raw, service, operation) in cases {
            let request = parse(&raw);
            assert_eq!(
                (request.service.as_str(), request.operation),
                (service, operation)
            );
        }
    }

    #[test]
    fn throttles_in_each_protocols_own_shape() {
        let lambda = error(&get_alias(), ErrorKind::Throttle);
        assert_eq!(lambda.status, 429);
        assert_eq!(
            answer_header(&lambda, "x-amzn-ErrorType"),
            Some("TooManyRequestsException")
        );
        assert_eq!(
            text(&lambda),
            r#"{"message":"Rate exceeded","Type":"User","Reason":"CallerRateLimitExceeded"}"#
        );

        let sns = error(&publish(), ErrorKind::Throttle);
        assert_eq!(
            (sns.status, answer_header(&sns, "content-type")),
            (400, Some("text/xml"))
        );
        assert_eq!(
            text(&sns),
            "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type>\
             <Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>req-1</RequestId>\
             </ErrorResponse>"
        );
        let form = "Action=DescribeAlarms&Version=2010-08-01";
        let old_cloudwatch = error(&query_call("monitoring", form), ErrorKind::Throttle);
        assert!(text(&old_cloudwatch).contains("monitoring.amazonaws.com/doc/2010-08-01/"));
        assert!(text(&old_cloudwatch).contains("<Code>Throttling</Code>"));

        let cbor = error(&cbor_call("DescribeAlarms"), ErrorKind::Throttle);
        assert_eq!(cbor.status, 400);
        assert_eq!(answer_header(&cbor, "smithy-protocol"), Some("rpc-v2-cbor"));
        assert_eq!(
            answer_header(&cbor, "content-type"),
            Some("application/cbor")
        );
        assert_eq!(
            answer_header(&cbor, "x-amzn-query-error"),
            Some("Throttling;Sender")
        );
        let error_type = b"com.amazonaws.cloudwatch#Throttling";
        let map = [
            &[0xa2, 0x66][..],
            b"__type",
            &[0x78, error_type.len() as u8],
            error_type,
            &[0x67],
            b"message",
            &[0x6d],
            b"Rate exceeded",
        ];
        assert_eq!(cbor.body, map.concat());

        let target = "CodePipeline_20150709.PutJobSuccessResult";
        let pipeline = error(&json_call("codepipeline", target), ErrorKind::Throttle);
        assert_eq!(pipeline.status, 400);
        assert_eq!(
            answer_header(&pipeline, "content-type"),
            Some("application/x-amz-json-1.1")
        );
        assert_eq!(
            text(&pipeline),
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#
        );
        let sqs = error(
            &json_call("sqs", "AmazonSQS.SendMessage"),
            ErrorKind::Throttle,
        );
        assert_eq!(
            answer_header(&sqs, "x-amzn-query-error"),
            Some("RequestThrottled;Sender")
        );
        assert_eq!(
            text(&sqs),
            r#"{"__type":"RequestThrottled","message":"Rate exceeded"}"#
        );
    }

    #[test]
    fn server_errors_carry_each_protocols_error_body() {
        let lambda = error(&get_alias(), ErrorKind::Server(500));
        assert_eq!(
            (lambda.status, answer_header(&lambda, "x-amzn-ErrorType")),
            (500, Some("ServiceException"))
        );
        assert!(text(&lambda).starts_with(r#"{"Type":"Service","Message":"#));
        let sns = error(&publish(), ErrorKind::Server(503));
        assert_eq!(sns.status, 503);
        assert!(text(&sns).contains("<Type>Receiver</Type><Code>ServiceUnavailable</Code>"));
        let cbor = error(&cbor_call("GetMetricData"), ErrorKind::Server(500));
        let query_error = answer_header(&cbor, "x-amzn-query-error");
        assert_eq!(
            (cbor.status, query_error),
            (500, Some("InternalServiceError;Receiver"))
        );
        let target = "CodeDeploy_20141006.GetDeployment";
        let deploy = error(&json_call("codedeploy", target), ErrorKind::Server(502));
        assert_eq!(deploy.status, 502);
        assert!(text(&deploy).starts_with(r#"{"__type":"InternalFailure""#));
    }
}
