//! The CodePipeline continuation token: only the progress of a rollout (the spec comes back
//! with every invocation as `UserParameters`), or, before it could start, since when the
//! action has been waiting for the target version to be `Active`; compact, and checksummed
//! together with those parameters so that a garbled, edited or mismatched token is refused
//! before any AWS call.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use rollout_core::plan::Plan;
use rollout_core::state::Control;
use rollout_core::{InvalidField, Provisioning, Rollout, Spec, Status};

/// CodePipeline's limit on a continuation token.
pub const MAX_TOKEN_CHARS: usize = 2048;
/// A rollout in flight.
const VERSION: &str = "r1";
/// No rollout yet: waiting for the target version.
const WAITING: &str = "w1";

/// What a continuation token stands for.
#[derive(Debug, Clone, PartialEq)]
pub enum Continuation {
    /// No rollout has started: the target version was not `Active`, since `since`.
    Waiting {
        since: DateTime<Utc>,
    },
    InFlight(Box<Rollout>),
}

/// Since when the action has been waiting for the target version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TokenWaiting {
    /// epoch seconds
    w: i64,
}

/// What the token carries: enough, with the spec, to rebuild the rollout state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TokenProgress {
    /// rolloutId
    i: String,
    /// currentVersion
    c: String,
    /// stepIndex
    s: usize,
    /// aliasRevisionId
    r: String,
    /// startedAt, epoch seconds
    t: i64,
    /// nextStepAt, epoch seconds
    n: Option<i64>,
    /// provisionedConcurrency, when the alias has any
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<Provisioning>,
    /// stepStartedAt, epoch seconds: the judgement's window (absent in older tokens)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    w: Option<i64>,
    /// control: an operator's pause or promote the rollout has taken (a paused state must
    /// stay paused from one invocation to the next)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    o: Option<Control>,
    /// controlId: the operator's last request taken (kept on the alias by every write)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    q: Option<String>,
}

fn checksum(kind: &str, payload: &str, user_parameters: &str) -> String {
    let digest = Sha256::new()
        .chain_update(kind)
        .chain_update(payload)
        .chain_update([0u8])
        .chain_update(user_parameters)
        .finalize();
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// Encodes an in-flight rollout as `r1.<base64url progress>.<checksum>`.
pub fn encode(rollout: &Rollout, user_parameters: &str) -> String {
    let progress = TokenProgress {
        i: rollout.rollout_id.clone(),
        c: rollout.spec.current_version.clone().unwrap_or_default(),
        s: rollout.step_index,
        r: rollout.alias_revision_id.clone(),
        t: rollout.started_at.timestamp(),
        n: rollout.next_step_at.map(|at| at.timestamp()),
        p: rollout.provisioned_concurrency,
        w: rollout.step_started_at.map(|at| at.timestamp()),
        o: rollout.control,
        q: rollout.control_id.clone(),
    };
    seal(VERSION, &progress, user_parameters)
}

/// Encodes a wait for the target version, begun at `since`, as `w1.<base64url>.<checksum>`.
pub fn encode_waiting(since: DateTime<Utc>, user_parameters: &str) -> String {
    seal(
        WAITING,
        &TokenWaiting {
            w: since.timestamp(),
        },
        user_parameters,
    )
}

fn seal(kind: &str, content: &impl Serialize, user_parameters: &str) -> String {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(content).expect("token serializes"));
    let sum = checksum(kind, &payload, user_parameters);
    format!("{kind}.{payload}.{sum}")
}

/// Rebuilds what a token stands for, from the token and the spec it was issued for.
pub fn decode(
    token: &str,
    spec: &Spec,
    plan: &Plan,
    user_parameters: &str,
) -> Result<Continuation, InvalidField> {
    let invalid = |why: &str| {
        InvalidField::new(
            "continuationToken",
            format!("{why}; the token was not issued by this action with these UserParameters"),
        )
    };
    let mut parts = token.split('.');
    let (Some(kind @ (VERSION | WAITING)), Some(payload), Some(sum), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("it is not a lambda-rollout token"));
    };
    if checksum(kind, payload, user_parameters) != sum {
        return Err(invalid("its checksum does not match"));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| invalid("it is not base64"))?;
    let at = |secs: i64| {
        DateTime::<Utc>::from_timestamp(secs, 0).ok_or_else(|| invalid("its time is out of range"))
    };
    if kind == WAITING {
        let waiting: TokenWaiting =
            serde_json::from_slice(&bytes).map_err(|_| invalid("its content is not readable"))?;
        return Ok(Continuation::Waiting {
            since: at(waiting.w)?,
        });
    }
    let progress: TokenProgress =
        serde_json::from_slice(&bytes).map_err(|_| invalid("its content is not readable"))?;
    let step = plan
        .steps
        .get(progress.s)
        .ok_or_else(|| invalid("its step is beyond the plan"))?;
    let mut spec = spec.clone();
    spec.current_version = Some(progress.c);
    Ok(Continuation::InFlight(Box::new(Rollout {
        spec,
        rollout_id: progress.i,
        status: Status::InProgress,
        step_index: progress.s,
        weight: step.weight,
        alias_revision_id: progress.r,
        started_at: at(progress.t)?,
        next_step_at: progress.n.map(at).transpose()?,
        wait_seconds: 0,
        reason: None,
        provisioned_concurrency: progress.p,
        step_started_at: progress.w.map(at).transpose()?,
        last_judgement: None,
        control: progress.o,
        control_id: progress.q,
        set: None,
        // None owed: inside Lambda each weight goes out (a log line) the moment it is applied.
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn worst_case() -> (Spec, String) {
        // Ten alarms of CloudWatch's longest names, an ARN function name, the longest alias.
        let spec = Spec::new(
            format!(
                "arn:aws:lambda:ap-southeast-2:123456789012:function:{}",
                "f".repeat(64)
            ),
            "a".repeat(128),
            "4294967295",
            (1..=40)
                .map(|w| format!("{w}.25%:48h"))
                .collect::<Vec<_>>()
                .join(","),
        )
        .alarms((0..10).map(|i| format!("{i}{}", "x".repeat(254))))
        .topic(format!(
            "arn:aws:sns:ap-southeast-2:123456789012:{}",
            "t".repeat(256)
        ))
        .bake(172_800)
        .analysis(rollout_core::Analysis::default());
        let params = serde_json::to_string(&spec).unwrap();
        (spec, params)
    }

    fn in_flight(spec: &Spec) -> (Rollout, Plan) {
        let plan = spec.validate().unwrap();
        let start = Utc.with_ymd_and_hms(2026, 11, 22, 15, 0, 0).unwrap();
        let mut rollout = Rollout::started(
            spec,
            &plan,
            "r-20261122T150000000Z".into(),
            "4294967294".into(),
            true,
            start,
        );
        rollout.alias_revision_id = "7a1c2b3d-0000-4000-8000-000000000001".into();
        (rollout, plan)
    }

    #[test]
    fn the_worst_case_token_fits_codepipelines_limit() {
        let (spec, params) = worst_case();
        let (rollout, _) = in_flight(&spec);
        let token = encode(&rollout, &params);
        assert!(
            params.len() > MAX_TOKEN_CHARS,
            "the spec alone would not fit ({})",
            params.len()
        );
        assert!(
            token.len() <= 300,
            "token is {} chars: {token}",
            token.len()
        );
    }

    #[test]
    fn a_token_round_trips_to_the_same_state() {
        let (spec, params) = worst_case();
        let (rollout, plan) = in_flight(&spec);
        let decoded = decode(&encode(&rollout, &params), &spec, &plan, &params).unwrap();
        assert_eq!(
            decoded,
            Continuation::InFlight(Box::new(Rollout {
                wait_seconds: 0,
                ..rollout
            }))
        );
    }

    #[test]
    fn a_wait_for_the_version_round_trips_and_is_tied_to_its_parameters() {
        let (spec, params) = worst_case();
        let plan = spec.validate().unwrap();
        let since = Utc.with_ymd_and_hms(2026, 11, 22, 15, 0, 0).unwrap();
        let token = encode_waiting(since, &params);
        assert!(token.starts_with("w1.") && token.len() < 100, "{token}");
        assert_eq!(
            decode(&token, &spec, &plan, &params).unwrap(),
            Continuation::Waiting { since }
        );
        assert!(decode(&token, &spec, &plan, "{}").is_err());
        // A waiting token cannot pass for progress, nor the other way round.
        let forged = token.replacen("w1.", "r1.", 1);
        assert!(decode(&forged, &spec, &plan, &params).is_err());
    }

    #[test]
    fn a_garbled_or_tampered_token_is_refused() {
        let (spec, params) = worst_case();
        let (rollout, plan) = in_flight(&spec);
        let token = encode(&rollout, &params);
        let mut flipped = token.clone().into_bytes();
        flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
        for bad in [
            "garbage".to_string(),
            token[..token.len() - 3].to_string(),
            String::from_utf8(flipped).unwrap(),
            format!("{token}.extra"),
        ] {
            let err = decode(&bad, &spec, &plan, &params).unwrap_err();
            assert_eq!(err.field, "continuationToken", "{bad}");
        }
        let other_params = params.replace("4294967295", "4294967293");
        assert!(
            decode(&token, &spec, &plan, &other_params).is_err(),
            "tied to its UserParameters"
        );
    }
}
