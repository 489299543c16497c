//! The rollout state: the spec that starts a rollout and the progress it accumulates. One JSON
//! object (camelCase fields, PascalCase statuses) carried from step to step.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::judgement::{Analysis, Judgement};
use crate::plan::Plan;
use crate::provisioned::Provisioning;
use crate::validate::{
    check_alias, check_function_name, check_topic_arn, check_version, short_function_name,
    InvalidField,
};

/// What a caller asks for: move `alias` of `function_name` to `target_version`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    pub function_name: String,
    pub alias: String,
    #[serde(deserialize_with = "version_string")]
    pub target_version: String,
    #[serde(
        default,
        deserialize_with = "optional_version_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub current_version: Option<String>,
    pub strategy: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_topic_arn: Option<String>,
    /// Seconds to keep watching after 100%; accepts a number or a duration like `"10m"`.
    #[serde(
        default,
        deserialize_with = "optional_seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub bake_time: Option<u64>,
    /// The canary judgement: absent, alarms only; `{}`, every default.
    #[serde(
        default,
        deserialize_with = "optional_analysis",
        skip_serializing_if = "Option::is_none"
    )]
    pub analysis: Option<Analysis>,
}

/// Where a rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    InProgress,
    Succeeded,
    RolledBack,
    Failed,
    Aborted,
}

impl Status {
    pub fn is_terminal(self) -> bool {
        self != Status::InProgress
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "InProgress",
            Status::Succeeded => "Succeeded",
            Status::RolledBack => "RolledBack",
            Status::Failed => "Failed",
            Status::Aborted => "Aborted",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::InProgress,
            Status::Succeeded,
            Status::RolledBack,
            Status::Failed,
            Status::Aborted,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
    }
}

/// What an operator last asked of a rollout in progress, recorded on its alias so that every
/// driver (CLI, shifter, state machine, pipeline) sees it. A driver's own next write drops it:
/// a pause is only ever lifted by `resume` (or `promote`), so no driver writes while paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Control {
    /// No step advances; breaches and failed judgements still roll back.
    Paused,
    /// A pause was lifted: steps advance again when their holds are over.
    Resumed,
    /// The current hold ends now (`next=` is the moment of the promote).
    Promoted,
    /// Straight to 100 % now; the bake time still applies.
    PromotedFull,
}

impl Control {
    pub fn as_str(self) -> &'static str {
        match self {
            Control::Paused => "paused",
            Control::Resumed => "resumed",
            Control::Promoted => "promoted",
            Control::PromotedFull => "promoted-full",
        }
    }

    pub fn parse(text: &str) -> Option<Control> {
        [
            Control::Paused,
            Control::Resumed,
            Control::Promoted,
            Control::PromotedFull,
        ]
        .into_iter()
        .find(|c| c.as_str() == text)
    }

    /// True for a promote, plain or full: the hold (and its minimum of judged calls) ends.
    pub fn is_promote(self) -> bool {
        matches!(self, Control::Promoted | Control::PromotedFull)
    }
}

/// A rollout in flight (or ended): the spec plus its progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollout {
    #[serde(flatten)]
    pub spec: Spec,
    pub rollout_id: String,
    pub status: Status,
    pub step_index: usize,
    /// Fraction of traffic on the target version now.
    pub weight: f64,
    pub alias_revision_id: String,
    pub started_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_step_at: Option<DateTime<Utc>>,
    pub wait_seconds: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Present when the alias has provisioned concurrency: whether the current step's weights
    /// are allocated yet (no step is judged before they are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_concurrency: Option<Provisioning>,
    /// When the current step's weight was applied: the start of its metrics' window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_started_at: Option<DateTime<Utc>>,
    /// The last judgement of the current step, when the spec has `analysis`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_judgement: Option<Judgement>,
    /// An operator's pause, resume or promote, taken from the alias's marker (`Paused`,
    /// `Resumed`, `Promoted`, `PromotedFull`); the next step written drops it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<Control>,
    /// The id of the operator's last request this rollout took (`o-20261123T130500123Z`):
    /// kept through the driver's later writes (the marker's `opid=`), so that an operator
    /// command whose answer was lost knows its write landed even after a driver moved on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_id: Option<String>,
    /// The release set this rollout is one member of, and its neighbours in the set: written
    /// into the marker so that the members find each other from any one alias. Not in the
    /// one-function JSON: a set's state carries its members itself.
    #[serde(skip)]
    pub set: Option<SetLink>,
}

/// A set member's place in its set, as its marker records it (`set=NAME:I/N nx=REF pv=REF`):
/// the members form a ring, each naming the next and the previous, so that every member is
/// found from any one (past one that someone else changed), however many members the set has.
#[derive(Debug, Clone, PartialEq)]
pub struct SetLink {
    pub name: String,
    /// This member's place in the set's `members` (0 is the lead, which carries the set's
    /// operator control) and how many members the set has.
    pub index: usize,
    pub count: usize,
    pub next: Option<MemberRef>,
    pub previous: Option<MemberRef>,
}

/// Where a set member is, relative to the member whose marker names it: `fn:alias`, then
/// `@region` when its region differs, then `!role` (`ACCOUNT:role/NAME`, or a whole role ARN
/// outside the `aws` partition) when it is reached through an assumed role.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemberRef {
    pub function_name: String,
    pub alias: String,
    pub region: Option<String>,
    pub role_arn: Option<String>,
}

const ROLE_PREFIX: &str = "arn:aws:iam::";

impl MemberRef {
    pub fn render(&self) -> String {
        let mut text = format!("{}:{}", self.function_name, self.alias);
        if let Some(region) = &self.region {
            text.push('@');
            text.push_str(region);
        }
        if let Some(role) = &self.role_arn {
            text.push('!');
            text.push_str(role.strip_prefix(ROLE_PREFIX).unwrap_or(role));
        }
        text
    }

    /// A reference as [`MemberRef::render`] writes it; `None` for anything else.
    pub fn parse(text: &str) -> Option<MemberRef> {
        let (place, role) = match text.split_once('!') {
            Some((place, role)) if !role.is_empty() => (place, Some(role)),
            Some(_) => return None,
            None => (text, None),
        };
        let (member, region) = match place.split_once('@') {
            Some((member, region)) => (member, Some(region)),
            None => (place, None),
        };
        let (function_name, alias) = member.rsplit_once(':')?;
        check_function_name(function_name).ok()?;
        check_alias(alias).ok()?;
        if let Some(region) = region {
            check_region("region", region).ok()?;
        }
        let role_arn = role.map(|r| match r.starts_with("arn:") {
            true => r.to_string(),
            false => format!("{ROLE_PREFIX}{r}"),
        });
        if let Some(role) = &role_arn {
            check_role_arn("roleArn", role).ok()?;
        }
        Some(MemberRef {
            function_name: function_name.into(),
            alias: alias.into(),
            region: region.map(String::from),
            role_arn,
        })
    }
}

impl SetLink {
    /// `NAME:I/N`, the value of the marker's `set=`.
    pub fn place(&self) -> String {
        format!("{}:{}/{}", self.name, self.index, self.count)
    }

    /// The link from `set=`, `nx=` and `pv=` values; `None` when they do not fit together.
    pub fn parse(place: &str, next: Option<&str>, previous: Option<&str>) -> Option<SetLink> {
        let (name, position) = place.rsplit_once(':')?;
        let (index, count) = position.split_once('/')?;
        let (index, count): (usize, usize) = (index.parse().ok()?, count.parse().ok()?);
        check_set_name(name).ok()?;
        let next = next.map(MemberRef::parse);
        let previous = previous.map(MemberRef::parse);
        // A set of one has no neighbours; any other member has both.
        let fits = index < count
            && count <= crate::state::SET_MAX_MEMBERS
            && match count {
                1 => next.is_none() && previous.is_none(),
                _ => matches!((&next, &previous), (Some(Some(_)), Some(Some(_)))),
            };
        fits.then(|| SetLink {
            name: name.into(),
            index,
            count,
            next: next.flatten(),
            previous: previous.flatten(),
        })
    }
}

/// The most members a release set may have.
pub const SET_MAX_MEMBERS: usize = 25;

/// A set's name: `[A-Za-z0-9_-]{1,40}`.
pub fn check_set_name(name: &str) -> Result<(), InvalidField> {
    let valid = (1..=40).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(InvalidField::new(
            "set",
            format!("{name:?} must name the release set: letters, digits, - and _, 1 to 40"),
        ))
    }
}

/// An AWS region name like `eu-west-1`.
pub fn check_region(field: &'static str, region: &str) -> Result<(), InvalidField> {
    let parts: Vec<&str> = region.split('-').collect();
    let valid = region.len() <= 25
        && parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
    if valid {
        Ok(())
    } else {
        Err(InvalidField::new(
            field,
            format!("{region:?} must be an AWS region like \"eu-west-1\""),
        ))
    }
}

/// An IAM role ARN, `arn:PARTITION:iam::ACCOUNT:role/NAME` (a path allowed).
pub fn check_role_arn(field: &'static str, arn: &str) -> Result<(), InvalidField> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let valid = arn.len() <= 2048
        && matches!(parts.as_slice(),
            ["arn", partition, "iam", "", account, resource]
                if !partition.is_empty() && account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit())
                    && resource.strip_prefix("role/").is_some_and(|name| !name.is_empty()
                        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b))));
    if valid {
        Ok(())
    } else {
        Err(InvalidField::new(
            field,
            format!("{arn:?} must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"),
        ))
    }
}

impl Rollout {
    /// The current step's metrics window: from when its weight was applied to `now` (a state
    /// from before `stepStartedAt` existed is judged from the rollout's start).
    pub fn window_start(&self) -> DateTime<Utc> {
        self.step_started_at.unwrap_or(self.started_at)
    }
}

/// Fields earlier versions wrote into a state that this one accepts and ignores, so that a
/// rollout in flight across an upgrade goes on (`unpublishedWeights`: what the CLI now keeps
/// in its driver's memory, never in the state).
const FIELDS_OF_EARLIER_VERSIONS: [&str; 1] = ["unpublishedWeights"];

impl Spec {
    /// Move `alias` of `function_name` to `target_version` by `strategy`; everything else as a
    /// caller's JSON leaves it out: no current version pinned, no alarms, no topic, no bake,
    /// no judgement.
    pub fn new(
        function_name: impl Into<String>,
        alias: impl Into<String>,
        target_version: impl Into<String>,
        strategy: impl Into<String>,
    ) -> Spec {
        Spec {
            function_name: function_name.into(),
            alias: alias.into(),
            target_version: target_version.into(),
            current_version: None,
            strategy: strategy.into(),
            alarms: Vec::new(),
            notification_topic_arn: None,
            bake_time: None,
            analysis: None,
        }
    }

    /// Only from `version`: the rollout is refused if the alias is elsewhere.
    pub fn from(mut self, version: impl Into<String>) -> Spec {
        self.current_version = Some(version.into());
        self
    }

    /// Watching these CloudWatch alarms.
    pub fn alarms(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Spec {
        self.alarms = names.into_iter().map(Into::into).collect();
        self
    }

    /// Told on this SNS topic.
    pub fn topic(mut self, arn: impl Into<String>) -> Spec {
        self.notification_topic_arn = Some(arn.into());
        self
    }

    /// Watched for `seconds` more after 100 %.
    pub fn bake(mut self, seconds: u64) -> Spec {
        self.bake_time = Some(seconds);
        self
    }

    /// With a canary judgement.
    pub fn analysis(mut self, analysis: Analysis) -> Spec {
        self.analysis = Some(analysis);
        self
    }

    /// Checks every field without touching AWS, and returns the plan the strategy names.
    pub fn validate(&self) -> Result<Plan, InvalidField> {
        check_function_name(&self.function_name)?;
        check_alias(&self.alias)?;
        check_version("targetVersion", &self.target_version)?;
        if let Some(current) = &self.current_version {
            check_version("currentVersion", current)?;
            if current == &self.target_version {
                return Err(InvalidField::new(
                    "currentVersion",
                    format!("must differ from targetVersion ({current})"),
                ));
            }
        }
        for name in &self.alarms {
            if name.trim().is_empty() || name.len() > 255 {
                return Err(InvalidField::new(
                    "alarms",
                    format!("alarm name {name:?} must be 1 to 255 characters"),
                ));
            }
        }
        if let Some(arn) = &self.notification_topic_arn {
            check_topic_arn("notificationTopicArn", arn)?;
        }
        if let Some(analysis) = &self.analysis {
            analysis.validate()?;
        }
        let bake = self.bake_time.unwrap_or(0);
        if bake > crate::plan::MAX_HOLD_SECONDS {
            return Err(InvalidField::new(
                "bakeTime",
                format!("{bake} seconds is more than the longest hold, 2 days"),
            ));
        }
        Ok(Plan::parse(&self.strategy, bake)?)
    }

    /// The plain function name, also when the spec gives an ARN.
    pub fn function_short_name(&self) -> &str {
        short_function_name(&self.function_name)
    }
}

/// Versions arrive as `"7"` or `7`; both mean the same published version.
pub(crate) fn version_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    crate::validate::version_from_json(&serde_json::Value::deserialize(d)?)
        .map_err(serde::de::Error::custom)
}

pub(crate) fn optional_version_string<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    version_string(d).map(Some)
}

/// The `analysis` object, each error naming its field (`analysis.confidence: must be …`).
pub(crate) fn optional_analysis<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Analysis>, D::Error> {
    Analysis::from_json(&serde_json::Value::deserialize(d)?)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// Seconds as a number, or a duration string such as `"90s"` or `"10m"`, at most 2 days.
pub(crate) fn optional_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let seconds = match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) if n.is_u64() => n.as_u64().unwrap_or(u64::MAX),
        serde_json::Value::String(s) => crate::plan::parse_hold(&s)
            .map_err(|why| serde::de::Error::custom(format!("{s:?} {why}")))?,
        other => {
            return Err(serde::de::Error::custom(format!(
                "{other} must be a whole number of seconds or a duration like \"10m\""
            )))
        }
    };
    if seconds > crate::plan::MAX_HOLD_SECONDS {
        return Err(serde::de::Error::custom(format!(
            "{seconds} seconds is more than the longest hold, {} seconds (2 days)",
            crate::plan::MAX_HOLD_SECONDS
        )));
    }
    Ok(Some(seconds))
}

/// A rollout id as lambda-rollout makes them: `r-` and the start time to the millisecond,
/// `r-20261123T130000123Z`. Anything else in a state or a marker is not ours.
pub fn check_rollout_id(id: &str) -> Result<(), InvalidField> {
    // Byte by byte: an id from an alias description or a flag may hold any character, and
    // a slice of it through one would panic. A valid id is ASCII, so slicing it is safe after.
    let b = id.as_bytes();
    let digits = |range: &[u8]| range.iter().all(u8::is_ascii_digit);
    let valid = b.len() == 21
        && b.starts_with(b"r-")
        && b[20] == b'Z'
        && digits(&b[2..10])
        && b[10] == b'T'
        && digits(&b[11..20]);
    if valid {
        Ok(())
    } else {
        Err(InvalidField::new(
            "rolloutId",
            format!("{id:?} is not a lambda-rollout id (like \"r-20261123T130000123Z\")"),
        ))
    }
}

/// An operator request's id as lambda-rollout makes them: `o-` and the request's time to the
/// millisecond, `o-20261123T130500123Z` (the marker's `opid=`, the state's `controlId`).
pub fn check_control_id(id: &str) -> Result<(), InvalidField> {
    match id.strip_prefix("o-") {
        Some(time) if check_rollout_id(&format!("r-{time}")).is_ok() => Ok(()),
        _ => Err(InvalidField::new(
            "controlId",
            format!("{id:?} is not an operator request id (like \"o-20261123T130500123Z\")"),
        )),
    }
}

/// A new operator request's id, from the clock.
pub fn new_control_id(now: DateTime<Utc>) -> String {
    format!("o-{}", now.format("%Y%m%dT%H%M%S%3fZ"))
}

/// When a rollout started, from its id (`r-20261123T130000123Z`: 13:00:00.123 UTC).
pub fn rollout_started_at(id: &str) -> Result<DateTime<Utc>, InvalidField> {
    check_rollout_id(id)?;
    chrono::NaiveDateTime::parse_from_str(&id[2..20], "%Y%m%dT%H%M%S%3f")
        .map(|at| at.and_utc())
        .map_err(|_| {
            InvalidField::new(
                "rolloutId",
                format!("{id:?} does not hold a valid time (like \"r-20261123T130000123Z\")"),
            )
        })
}

impl Rollout {
    /// Checks that a state handed back (by Step Functions, a pipeline token, a person) fits
    /// its own plan before anything acts on it, and returns the plan.
    pub fn validate(&self) -> Result<Plan, InvalidField> {
        let plan = self.spec.validate()?;
        check_rollout_id(&self.rollout_id)?;
        if let Some(id) = &self.control_id {
            check_control_id(id)?;
        }
        if self.step_index > plan.last_index() {
            return Err(InvalidField::new(
                "stepIndex",
                format!(
                    "{} is past the plan's last step ({})",
                    self.step_index,
                    plan.last_index()
                ),
            ));
        }
        if self.status == Status::InProgress {
            if self.spec.current_version.is_none() {
                return Err(InvalidField::new(
                    "currentVersion",
                    "a rollout state must carry the version it started from",
                ));
            }
            if self.next_step_at.is_none() {
                return Err(InvalidField::new(
                    "nextStepAt",
                    "a rollout in progress must say when its next step is due",
                ));
            }
            let weight = plan.steps[self.step_index].weight;
            if (self.weight - weight).abs() > 1e-9 {
                return Err(InvalidField::new(
                    "weight",
                    format!(
                        "{} does not fit step {} of the plan ({weight})",
                        self.weight, self.step_index
                    ),
                ));
            }
        }
        Ok(plan)
    }
}

impl Spec {
    /// The spec's JSON field names, as serde names them (so they are never typed twice).
    pub fn field_names() -> &'static [&'static str] {
        crate::fields::of::<Spec>()
    }
}

impl Rollout {
    /// The JSON field names progress adds to a spec, from serde's own serialization of a
    /// state with every field present (worked out once per process).
    pub fn progress_field_names() -> &'static [&'static str] {
        static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
        NAMES.get_or_init(|| {
            Self::serialized_field_names()
                .into_iter()
                .map(|name| &*Box::leak(name.into_boxed_str()))
                .chain(FIELDS_OF_EARLIER_VERSIONS)
                .collect()
        })
    }

    fn serialized_field_names() -> Vec<String> {
        use crate::judgement::{VersionMetrics, Window};
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        let full = Rollout {
            spec: Spec::new("", "", "", ""),
            rollout_id: String::new(),
            status: Status::InProgress,
            step_index: 0,
            weight: 0.0,
            alias_revision_id: String::new(),
            started_at: epoch,
            next_step_at: Some(epoch),
            wait_seconds: 0,
            reason: Some(String::new()),
            provisioned_concurrency: Some(Provisioning::Ready),
            step_started_at: Some(epoch),
            last_judgement: Some(Judgement::new(
                &Analysis::default(),
                VersionMetrics::none(""),
                VersionMetrics::none(""),
                String::new(),
                Window {
                    start: String::new(),
                    end: String::new(),
                },
            )),
            control: Some(Control::Paused),
            control_id: Some(String::new()),
            set: None,
        };
        let spec_fields = Spec::field_names();
        match serde_json::to_value(full) {
            Ok(serde_json::Value::Object(map)) => map
                .keys()
                .filter(|k| !spec_fields.contains(&k.as_str()))
                .cloned()
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_new_spec_is_what_a_callers_json_with_only_the_required_fields_reads_as() {
        let json = serde_json::json!({"functionName": "orders", "alias": "live",
            "targetVersion": "2", "strategy": "AllAtOnce"});
        let read: Spec = serde_json::from_value(json).unwrap();
        assert_eq!(Spec::new("orders", "live", "2", "AllAtOnce"), read);
    }

    #[test]
    fn a_rollout_id_tells_when_it_started() {
        let at = rollout_started_at("r-20261123T130005123Z").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-11-23T13:00:05.123+00:00");
        for bad in ["r-20261323T130005123Z", "r-2026", "20261123T130005123Z"] {
            assert_eq!(
                rollout_started_at(bad).unwrap_err().field,
                "rolloutId",
                "{bad}"
            );
        }
    }

    fn state(step_index: usize, weight: f64, next: bool, id: &str) -> Rollout {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        Rollout {
            spec: Spec::new("orders", "live", "2", "Linear10PercentEvery1Minute").from("1"),
            rollout_id: id.into(),
            status: Status::InProgress,
            step_index,
            weight,
            alias_revision_id: "r".into(),
            started_at: at,
            next_step_at: next.then_some(at),
            wait_seconds: 0,
            reason: None,
            provisioned_concurrency: None,
            step_started_at: None,
            last_judgement: None,
            control: None,
            control_id: None,
            set: None,
        }
    }

    #[test]
    fn a_crafted_state_is_refused_by_the_field_at_fault() {
        let id = "r-20261123T130000123Z";
        assert!(state(3, 0.4, true, id).validate().is_ok());
        assert_eq!(
            state(40, 1.0, true, id).validate().unwrap_err().field,
            "stepIndex"
        );
        assert_eq!(
            state(3, 0.4, false, id).validate().unwrap_err().field,
            "nextStepAt"
        );
        assert_eq!(
            state(3, 0.9, true, id).validate().unwrap_err().field,
            "weight"
        );
        let crafted = "r-1 status=Succeeded";
        assert_eq!(
            state(3, 0.4, true, crafted).validate().unwrap_err().field,
            "rolloutId"
        );
    }

    proptest! {
        #[test]
        fn a_state_is_accepted_only_when_it_fits_its_plan(
            step in 0usize..14,
            plan_weight in any::<bool>(),
            other_weight in 0.0f64..=1.0,
            next in any::<bool>(),
            id in prop_oneof!["r-[0-9]{8}T[0-9]{9}Z", "\\PC{0,24}"],
        ) {
            let plan = Plan::parse("Linear10PercentEvery1Minute", 0).unwrap();
            let weight = match (plan_weight, plan.steps.get(step)) {
                (true, Some(s)) => s.weight,
                _ => other_weight,
            };
            let fits = step <= plan.last_index()
                && next
                && (weight - plan.steps[step.min(plan.last_index())].weight).abs() < 1e-9
                && check_rollout_id(&id).is_ok();
            prop_assert_eq!(state(step, weight, next, &id).validate().is_ok(), fits);
        }
    }
}
