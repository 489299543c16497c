//! The CodePipeline continuation token: only the progress of a rollout (the spec comes back
//! with every invocation as `UserParameters`), compact, and checksummed together with those
//! parameters so that a garbled, edited or mismatched token is refused before any AWS call.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use rollout_core::plan::Plan;
use rollout_core::{InvalidField, Rollout, Spec, Status};

/// CodePipeline's limit on a continuation token.
pub const MAX_TOKEN_CHARS: usize = 2048;
const VERSION: &str = "r1";

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
    /// stepStartedAt, epoch seconds: the judgement's window (absent in older tokens)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    w: Option<i64>,
}

fn checksum(payload: &str, user_parameters: &str) -> String {
    let digest = Sha256::new()
        .chain_update(VERSION)
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
        w: rollout.step_started_at.map(|at| at.timestamp()),
    };
    let payload =
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&progress).expect("progress serializes"));
    let sum = checksum(&payload, user_parameters);
    format!("{VERSION}.{payload}.{sum}")
}

/// Rebuilds the rollout state from a token and the spec it was issued for.
pub fn decode(
    token: &str,
    spec: &Spec,
    plan: &Plan,
    user_parameters: &str,
) -> Result<Rollout, InvalidField> {
    let invalid = |why: &str| {
        InvalidField::new(
            "continuationToken",
            format!("{why}; the token was not issued by this action with these UserParameters"),
        )
    };
    let mut parts = token.split('.');
    let (Some(VERSION), Some(payload), Some(sum), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("it is not a lambda-rollout token"));
    };
    if checksum(payload, user_parameters) != sum {
        return Err(invalid("its checksum does not match"));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| invalid("it is not base64"))?;
    let progress: TokenProgress =
        serde_json::from_slice(&bytes).map_err(|_| invalid("its content is not readable"))?;
    let step = plan
        .steps
        .get(progress.s)
        .ok_or_else(|| invalid("its step is beyond the plan"))?;
    let at = |secs: i64| {
        DateTime::<Utc>::from_timestamp(secs, 0).ok_or_else(|| invalid("its time is out of range"))
    };
    let mut spec = spec.clone();
    spec.current_version = Some(progress.c);
    Ok(Rollout {
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
        step_started_at: progress.w.map(at).transpose()?,
        last_judgement: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn worst_case() -> (Spec, String) {
        // Ten alarms of CloudWatch's longest names, an ARN function name, the longest alias.
        let spec = Spec {
            function_name: format!(
                "arn:aws:lambda:ap-southeast-2:123456789012:function:{}",
                "f".repeat(64)
            ),
            alias: "a".repeat(128),
            target_version: "4294967295".into(),
            current_version: None,
            strategy: (1..=40)
                .map(|w| format!("{w}.25%:48h"))
                .collect::<Vec<_>>()
                .join(","),
            alarms: (0..10).map(|i| format!("{i}{}", "x".repeat(254))).collect(),
            notification_topic_arn: Some(format!(
                "arn:aws:sns:ap-southeast-2:123456789012:{}",
                "t".repeat(256)
            )),
            bake_time: Some(172_800),
            analysis: Some(rollout_core::Analysis::default()),
        };
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
            Rollout {
                wait_seconds: 0,
                ..rollout
            }
        );
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
