//! Why an AWS call failed when the cause is the setup rather than the request (no region, no
//! or bad credentials, an endpoint that cannot be reached, a missing permission), each named
//! with its fix. The SDK reports most of these as "dispatch failure" or a bare error code;
//! people need to know what to change.

use std::error::Error;
use std::fmt;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::endpoint::error::ResolveEndpointError;
use aws_smithy_runtime_api::client::result::ConnectorError;

/// A failure caused by the setup, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// No region from `--region`, `AWS_REGION`, or the profile.
    NoRegion { profile: Option<String> },
    /// No credentials provider had any, or the profile's settings are wrong.
    NoCredentials { detail: String },
    /// The configured credentials provider failed or timed out (SSO, a container or
    /// instance role, a credential process): it may work again.
    CredentialsFailed { detail: String },
    /// The connection to the endpoint failed (refused, DNS, timed out).
    Unreachable { endpoint: String, why: String },
    /// IAM refused the call; `action` as AWS named it (e.g. `lambda:UpdateAlias`).
    AccessDenied {
        action: Option<String>,
        message: String,
    },
    /// The session token of temporary credentials has expired.
    ExpiredToken,
    /// AWS does not know the access key or the signature does not match.
    InvalidCredentials { code: String },
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::NoRegion { profile } => {
                write!(f, "no AWS region is configured")?;
                if let Some(profile) = profile {
                    write!(f, " (profile {profile:?} names none, or does not exist)")?;
                }
                write!(
                    f,
                    "; pass --region (e.g. --region eu-west-1), set AWS_REGION, or set one \
                     with `aws configure`"
                )
            }
            Cause::NoCredentials { detail } => write!(
                f,
                "no usable AWS credentials ({detail}); pass --profile or set AWS_PROFILE, run \
                 `aws configure` (or `aws sso login`), or set AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY"
            ),
            Cause::CredentialsFailed { detail } => write!(
                f,
                "the AWS credentials could not be loaded ({detail}); check that the profile \
                 exists (--profile, AWS_PROFILE) and its settings (`aws sso login` for an SSO \
                 profile), or the role it assumes"
            ),
            Cause::Unreachable { endpoint, why } => write!(
                f,
                "could not connect to {endpoint}: {why}; check the network and the region, \
                 and AWS_ENDPOINT_URL if it is set"
            ),
            Cause::AccessDenied { action, message } => {
                write!(f, "access denied: {message}; ")?;
                match action {
                    Some(action) => write!(f, "allow {action} to the caller's IAM role or user"),
                    None => write!(f, "allow this call to the caller's IAM role or user"),
                }
            }
            Cause::ExpiredToken => write!(
                f,
                "the AWS session token has expired; refresh the credentials (e.g. `aws sso \
                 login`, or assume the role again) and run the command again"
            ),
            Cause::InvalidCredentials { code } => write!(
                f,
                "AWS does not accept these credentials ({code}); check the access key and \
                 secret (or --profile / AWS_PROFILE), and that they belong to this account's \
                 partition"
            ),
        }
    }
}

impl Error for Cause {}

/// Error codes that mean the caller is not allowed.
const ACCESS_DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "AuthorizationError",
    "UnauthorizedOperation",
];
/// Error codes that mean temporary credentials ran out.
const EXPIRED: &[&str] = &["ExpiredToken", "ExpiredTokenException"];
/// Error codes that mean the credentials themselves are wrong.
const INVALID_CREDENTIALS: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
];

/// The setup cause of a failed call, if it is one.
pub fn cause_of<E, R>(err: &SdkError<E, R>) -> Option<Cause>
where
    E: ProvideErrorMetadata + Error + 'static,
    R: fmt::Debug,
{
    match err {
        SdkError::ServiceError(_) => {
            let code = err.code()?;
            let message = err.message().unwrap_or("not authorized").to_string();
            if ACCESS_DENIED.contains(&code) {
                Some(Cause::AccessDenied {
                    action: action_in(&message),
                    message,
                })
            } else if EXPIRED.contains(&code) {
                Some(Cause::ExpiredToken)
            } else if INVALID_CREDENTIALS.contains(&code) {
                Some(Cause::InvalidCredentials { code: code.into() })
            } else {
                None
            }
        }
        other => other.source().and_then(cause_in_chain),
    }
}

/// Walks an error's sources for a setup cause the SDK buried in a dispatch or construction
/// failure.
fn cause_in_chain(top: &(dyn Error + 'static)) -> Option<Cause> {
    let mut next = Some(top);
    while let Some(err) = next {
        if let Some(e) = err.downcast_ref::<UnreachableEndpoint>() {
            return Some(Cause::Unreachable {
                endpoint: e.endpoint.clone(),
                why: connection_failure(&e.source),
            });
        }
        if let Some(e) = err.downcast_ref::<CredentialsError>() {
            let detail = credentials_detail(e);
            return Some(match e {
                CredentialsError::CredentialsNotLoaded(_)
                | CredentialsError::InvalidConfiguration(_) => Cause::NoCredentials { detail },
                _ => Cause::CredentialsFailed { detail },
            });
        }
        // Without a region the endpoint cannot be resolved (or, with AWS_ENDPOINT_URL, the
        // request cannot be signed); neither has a kind to match, only its words.
        let text = err.to_string();
        if (err.is::<ResolveEndpointError>() && text.contains("Missing Region"))
            || text == "missing signing region"
        {
            return Some(Cause::NoRegion { profile: None });
        }
        next = err.source();
    }
    None
}

fn credentials_detail(e: &CredentialsError) -> String {
    match e {
        CredentialsError::CredentialsNotLoaded(_) => "none found in the environment, the \
            profile files, SSO, or a container or instance role"
            .into(),
        CredentialsError::ProviderTimedOut(_) => "the credentials provider timed out".into(),
        other => {
            // The deepest message says what was wrong (e.g. a profile that does not exist).
            let mut detail = other.to_string();
            let mut source = other.source();
            while let Some(s) = source {
                detail = s.to_string();
                source = s.source();
            }
            detail
        }
    }
}

/// `lambda:UpdateAlias` from AWS's "... is not authorized to perform: lambda:UpdateAlias on
/// resource: ..." (the form every service uses).
fn action_in(message: &str) -> Option<String> {
    let (_, rest) = message.split_once("perform: ")?;
    let action = rest.split_whitespace().next()?;
    action.contains(':').then(|| action.to_string())
}

/// Connection refused, DNS, or a timeout, in words.
fn connection_failure(err: &ConnectorError) -> String {
    let mut next: Option<&(dyn Error + 'static)> = Some(err);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
                std::io::ErrorKind::TimedOut => "the connection timed out".into(),
                _ if e.to_string().contains("lookup address") => {
                    "the host name could not be resolved (DNS)".into()
                }
                _ => io.to_string(),
            };
        }
        if e.to_string() == "dns error" {
            return "the host name could not be resolved (DNS)".into();
        }
        next = e.source();
    }
    if err.is_timeout() {
        "the connection timed out".into()
    } else {
        "the connection failed".into()
    }
}

/// A connection failure with the endpoint it was for: the SDK's own error does not say where
/// it tried to connect. Added by [`crate::load_config`]'s HTTP client.
#[derive(Debug)]
pub(crate) struct UnreachableEndpoint {
    pub endpoint: String,
    pub source: ConnectorError,
}

impl fmt::Display for UnreachableEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not connect to {}", self.endpoint)
    }
}

impl Error for UnreachableEndpoint {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_is_read_from_aws_words() {
        let message = "User: arn:aws:sts::123456789012:assumed-role/ci/build is not authorized \
            to perform: lambda:UpdateAlias on resource: arn:aws:lambda:eu-west-1:123456789012:\
            function:orders:live because no identity-based policy allows the lambda:UpdateAlias action";
        assert_eq!(action_in(message).as_deref(), Some("lambda:UpdateAlias"));
        assert_eq!(action_in("Access denied"), None);
    }

    #[test]
    fn missing_credentials_are_named_and_not_worth_retrying() {
        use aws_sdk_lambda::operation::get_alias::GetAliasError;
        use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
        let failed: SdkError<GetAliasError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::other(
                Box::new(CredentialsError::not_loaded("no providers in chain")),
                None,
            ));
        let text = crate::describe_sdk_error(&failed);
        assert!(
            text.starts_with("no usable AWS credentials") && text.contains("--profile"),
            "{text}"
        );
        assert!(!crate::is_transient(&failed));
        let timed_out: SdkError<GetAliasError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::other(
                Box::new(CredentialsError::provider_timed_out(
                    std::time::Duration::from_secs(5),
                )),
                None,
            ));
        assert!(crate::is_transient(&timed_out));
        assert!(matches!(
            cause_of(&timed_out),
            Some(Cause::CredentialsFailed { .. })
        ));
    }

    #[test]
    fn a_missing_region_names_the_flag_the_variable_and_aws_configure() {
        let text = Cause::NoRegion {
            profile: Some("ci".into()),
        }
        .to_string();
        for fix in ["--region", "AWS_REGION", "aws configure", "\"ci\""] {
            assert!(text.contains(fix), "{text}");
        }
    }
}
