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
use rollout_core::set::{SetRollout, SetSpec};
use rollout_core::state::Control;
use rollout_core::{InvalidField, Provisioning, Rollout, Spec, Status};

/// CodePipeline's limit on a continuation token.
pub const MAX_TOKEN_CHARS: usize = 2048;
/// A rollout in flight.
const VERSION: &str = "r1";
/// No rollout yet: waiting for the target version.
const WAITING: &str = "w1";

/// A release set in flight.
const SET: &str = "s1";

/// What a continuation token stands for.
#[derive(Debug, Clone, PartialEq)]
pub enum Continuation {
    /// No rollout has started: the target version was not `Active`, since `since`.
    Waiting {
        since: DateTime<Utc>,
    },
    InFlight(Box<Rollout>),
    /// A release set in flight.
    SetInFlight(Box<SetRollout>),
}

/// A set's progress: the set's own, and each member's version and alias revision (25
/// members fit in the token's 2048 characters: the rest comes back as `UserParameters`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TokenSetProgress {
    /// rolloutId
    i: String,
    /// stepIndex
    s: usize,
    /// startedAt, nextStepAt, stepStartedAt: epoch seconds
    t: i64,
    n: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    w: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    o: Option<Control>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    q: Option<String>,
    /// Each member: `currentVersion.aliasRevisionId`, and `.A` or `.R` when it has
    /// provisioned concurrency (allocating, ready); a RevisionId that is a lowercase UUID
    /// is written as its 16 bytes in base64url after `~` (22 characters, not 36).
    m: Vec<String>,
}

fn compact_revision(revision: &str) -> String {
    let hex: String = revision.chars().filter(|c| *c != '-').collect();
    let uuid_like = revision.len() == 36
        && [8, 13, 18, 23]
            .iter()
            .all(|i| revision.as_bytes()[*i] == b'-')
        && hex.len() == 32
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !uuid_like {
        return revision.to_string();
    }
    let bytes: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or_default())
        .collect();
    format!("~{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn expand_revision(text: &str) -> Option<String> {
    let Some(packed) = text.strip_prefix('~') else {
        return Some(text.to_string());
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(packed)
        .ok()
        .filter(|b| b.len() == 16)?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// Encodes a set in flight as `s1.<base64url progress>.<checksum>`.
pub fn encode_set(set: &SetRollout, user_parameters: &str) -> String {
    let members = set
        .members
        .iter()
        .map(|m| {
            let mut text = format!(
                "{}.{}",
                m.spec.current_version.as_deref().unwrap_or_default(),
                compact_revision(&m.alias_revision_id)
            );
            match m.provisioned_concurrency {
                Some(Provisioning::Allocating) => text.push_str(".A"),
                Some(Provisioning::Ready) => text.push_str(".R"),
                None => {}
            }
            text
        })
        .collect();
    let progress = TokenSetProgress {
        i: set.rollout_id.clone(),
        s: set.step_index,
        t: set.started_at.timestamp(),
        n: set.next_step_at.map(|at| at.timestamp()),
        w: set.members[0].step_started_at.map(|at| at.timestamp()),
        o: set.control,
        q: set.control_id.clone(),
        m: members,
    };
    seal(SET, &progress, user_parameters)
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

/// What is wrong with a token, said as a refusal of it.
fn invalid(why: &str) -> InvalidField {
    InvalidField::new(
        "continuationToken",
        format!("{why}; the token was not issued by this action with these UserParameters"),
    )
}

/// A token's kind (one of `kinds`) and content, once its checksum with `user_parameters`
/// holds.
fn open<'t>(
    token: &'t str,
    kinds: &[&str],
    user_parameters: &str,
) -> Result<(&'t str, Vec<u8>), InvalidField> {
    let mut parts = token.split('.');
    let (Some(kind), Some(payload), Some(sum), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("it is not a lambda-rollout token"));
    };
    if !kinds.contains(&kind) {
        return Err(invalid("it is not a lambda-rollout token of this kind"));
    }
    if checksum(kind, payload, user_parameters) != sum {
        return Err(invalid("its checksum does not match"));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| invalid("it is not base64"))?;
    Ok((kind, bytes))
}

/// Rebuilds a set in flight from its token and the set spec it was issued for (every
/// member's region said, as the start said them).
pub fn decode_set(
    token: &str,
    spec: &SetSpec,
    plan: &Plan,
    user_parameters: &str,
) -> Result<Continuation, InvalidField> {
    if token.starts_with(WAITING) {
        return decode(token, &spec.member_spec(0), plan, user_parameters);
    }
    let (_, bytes) = open(token, &[SET], user_parameters)?;
    let at = |secs: i64| {
        DateTime::<Utc>::from_timestamp(secs, 0).ok_or_else(|| invalid("its time is out of range"))
    };
    let progress: TokenSetProgress =
        serde_json::from_slice(&bytes).map_err(|_| invalid("its content is not readable"))?;
    let step = plan
        .steps
        .get(progress.s)
        .ok_or_else(|| invalid("its step is beyond the plan"))?;
    if progress.m.len() != spec.members.len() {
        return Err(invalid("its members are not the set's"));
    }
    let members: Vec<Vec<&str>> = progress.m.iter().map(|m| m.split('.').collect()).collect();
    let currents: Vec<String> = members.iter().map(|m| m[0].to_string()).collect();
    let mut set = SetRollout::new(spec, progress.i, &currents, at(progress.t)?);
    let step_started = progress.w.map(at).transpose()?;
    for (m, fields) in set.members.iter_mut().zip(&members) {
        let revision = fields.get(1).and_then(|r| expand_revision(r));
        m.alias_revision_id = revision.ok_or_else(|| invalid("its content is not readable"))?;
        m.weight = step.weight;
        m.step_started_at = step_started;
        m.provisioned_concurrency = match fields.get(2).copied() {
            Some("A") => Some(Provisioning::Allocating),
            Some("R") => Some(Provisioning::Ready),
            None => None,
            Some(_) => return Err(invalid("its content is not readable")),
        };
    }
    set.step_index = progress.s;
    set.weight = step.weight;
    set.next_step_at = progress.n.map(at).transpose()?;
    set.control = progress.o;
    set.control_id = progress.q;
    Ok(Continuation::SetInFlight(Box::new(set)))
}

/// Rebuilds what a token stands for, from the token and the spec it was issued for.
pub fn decode(
    token: &str,
    spec: &Spec,
    plan: &Plan,
    user_parameters: &str,
) -> Result<Continuation, InvalidField> {
    let (kind, bytes) = open(token, &[VERSION, WAITING], user_parameters)?;
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

#[cfg(test)]
mod set_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_set_of_twenty_five_members_fits_a_token_and_comes_back_whole() {
        let members: Vec<_> = (0..25)
            .map(|i| {
                // Names do not reach the token (the spec comes back as UserParameters);
                // versions and revisions do, at their longest.
                json!({"functionName": format!("f{i}"), "alias": "live",
                       "targetVersion": "4294967295"})
            })
            .collect();
        let spec: SetSpec = serde_json::from_value(json!({"set": "x".repeat(40),
            "members": members, "strategy": "1%:1m,2%:1m"}))
        .unwrap();
        let plan = spec.validate().unwrap();
        let at = DateTime::<Utc>::from_timestamp(1_900_000_000, 0).unwrap();
        let currents: Vec<String> = (0..25).map(|_| "4294967294".to_string()).collect();
        let mut set = SetRollout::new(&spec, "r-20301123T130000123Z".into(), &currents, at);
        for m in &mut set.members {
            m.alias_revision_id = "0f0a7c8e-1d2b-4c3d-8e9f-0a1b2c3d4e5f".into();
            m.provisioned_concurrency = Some(Provisioning::Allocating);
            m.weight = 0.01;
            m.step_started_at = Some(at);
        }
        set.weight = 0.01;
        set.next_step_at = Some(at);
        set.control = Some(Control::Paused);
        set.control_id = Some("o-20301123T130000123Z".into());
        let token = encode_set(&set, "params");
        assert!(token.len() <= MAX_TOKEN_CHARS, "{} characters", token.len());
        let Continuation::SetInFlight(back) = decode_set(&token, &spec, &plan, "params").unwrap()
        else {
            panic!("a set's token")
        };
        assert_eq!(*back, set);
        assert!(decode_set(&token, &spec, &plan, "other params").is_err());
    }

    #[test]
    fn a_revision_that_is_not_a_lowercase_uuid_is_kept_as_it_is() {
        for revision in [
            "r0",
            "0F0A7C8E-1D2B-4C3D-8E9F-0A1B2C3D4E5F",
            "0f0a7c8e-1d2b-4c3d-8e9f-0a1b2c3d4e5f",
        ] {
            assert_eq!(
                expand_revision(&compact_revision(revision)).unwrap(),
                revision
            );
        }
        assert_eq!(
            compact_revision("0f0a7c8e-1d2b-4c3d-8e9f-0a1b2c3d4e5f").len(),
            23
        );
    }
}
