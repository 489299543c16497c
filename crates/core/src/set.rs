//! Release sets: several aliases (across regions and accounts) moved as one release on one
//! plan, in lockstep, and all put back when any one breaches. The set spec, the set state,
//! each member seen as a one-function [`Rollout`] (so the engine decides for a member exactly
//! as for one alias), and the ring of links the members' markers carry.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::judgement::{Analysis, Judgement};
use crate::marker::Marker;
use crate::plan::Plan;
use crate::provisioned::Provisioning;
use crate::state::{
    check_region, check_role_arn, check_set_name, Control, MemberRef, Rollout, SetLink, Spec,
    Status, SET_MAX_MEMBERS,
};
use crate::validate::InvalidField;

/// One alias of a set, as the caller names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberSpec {
    pub function_name: String,
    pub alias: String,
    #[serde(deserialize_with = "crate::state::version_string")]
    pub target_version: String,
    #[serde(
        default,
        deserialize_with = "crate::state::optional_version_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub current_version: Option<String>,
    /// Added to the set's alarms for this member.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<String>,
    /// Default: the region of an ARN, else the caller's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Assumed for this member's Lambda and CloudWatch calls (another account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
}

/// What a caller asks for: every member moved to its target on one plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetSpec {
    pub set: String,
    pub members: Vec<MemberSpec>,
    #[serde(flatten)]
    pub shared: Shared,
}

/// The fields a set's members share: the one-function spec's, less the alias's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shared {
    pub strategy: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_topic_arn: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::state::optional_seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub bake_time: Option<u64>,
    #[serde(
        default,
        deserialize_with = "crate::state::optional_analysis",
        skip_serializing_if = "Option::is_none"
    )]
    pub analysis: Option<Analysis>,
}

/// One member of a set in flight: its spec and its own progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    #[serde(flatten)]
    pub spec: MemberSpec,
    #[serde(default)]
    pub alias_revision_id: String,
    #[serde(default)]
    pub weight: f64,
    /// How this member ended, when not as the set did (left as someone else set it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_concurrency: Option<Provisioning>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_judgement: Option<Judgement>,
}

/// A set in flight (or ended): the set's progress, shared by every member in lockstep, and
/// each member's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetRollout {
    pub set: String,
    pub members: Vec<Member>,
    #[serde(flatten)]
    pub shared: Shared,
    pub rollout_id: String,
    pub status: Status,
    pub step_index: usize,
    /// Fraction of traffic on the target versions now.
    pub weight: f64,
    pub started_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_step_at: Option<DateTime<Utc>>,
    pub wait_seconds: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<Control>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_id: Option<String>,
}

/// `members[2].targetVersion` (`members[2]` for `""`): the field of one member, named once
/// per process.
pub fn member_field(index: usize, field: &str) -> &'static str {
    static NAMES: Mutex<Option<HashMap<(usize, String), &'static str>>> = Mutex::new(None);
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    names
        .get_or_insert_with(HashMap::new)
        .entry((index, field.to_string()))
        .or_insert_with(|| {
            let name = match field {
                "" => format!("members[{index}]"),
                field => format!("members[{index}].{field}"),
            };
            Box::leak(name.into_boxed_str())
        })
}

/// The same error, about member `index`: `members[2].targetVersion: …`; a field the set
/// shares keeps its own name.
fn of_member(index: usize, e: InvalidField) -> InvalidField {
    match Shared::field_names().contains(&e.field) {
        true => e,
        false => InvalidField::new(member_field(index, e.field), e.problem),
    }
}

impl Shared {
    pub fn field_names() -> &'static [&'static str] {
        crate::fields::of::<Shared>()
    }
}

impl MemberSpec {
    pub fn field_names() -> &'static [&'static str] {
        crate::fields::of::<MemberSpec>()
    }

    /// `orders-api:live`, for people (`members[i]` tells two of one name apart).
    pub fn label(&self) -> String {
        let name = crate::validate::short_function_name(&self.function_name);
        format!("{name}:{}", self.alias)
    }

    /// The member's region: its own, an ARN's, else `home` (the caller's).
    pub fn region_or(&self, home: Option<&str>) -> Option<String> {
        self.region
            .clone()
            .or(self.arn_region().map(String::from))
            .or(home.map(String::from))
    }

    /// The function's name, short where the account is known without it: a plain name, or
    /// the name of an ARN in the account of the member's role; otherwise the whole ARN.
    pub fn short_name_in_its_account(&self) -> &str {
        let name = crate::validate::short_function_name(&self.function_name);
        let account = |arn: &str| arn.split(':').nth(4).map(String::from);
        match &self.role_arn {
            Some(role) if account(&self.function_name) == account(role) => name,
            _ if !self.function_name.starts_with("arn:") => name,
            _ => &self.function_name,
        }
    }

    /// The account the member is in, when it says: its function ARN's, else its role's;
    /// `None` for the caller's own.
    pub fn account(&self) -> Option<String> {
        let of = |arn: &str| arn.split(':').nth(4).map(String::from);
        match self.function_name.starts_with("arn:") {
            true => of(&self.function_name),
            false => self.role_arn.as_deref().and_then(of),
        }
    }

    /// The region of an ARN's function, when the member gives no `region`.
    pub fn arn_region(&self) -> Option<&str> {
        match self.function_name.split(':').collect::<Vec<_>>().as_slice() {
            ["arn", _, "lambda", region, ..] => Some(region),
            _ => None,
        }
    }
}

impl SetSpec {
    /// The one-function spec of member `index`: its own fields and the set's (the set's
    /// alarms are read once for the whole set; the spec carries the member's own).
    pub fn member_spec(&self, index: usize) -> Spec {
        spec_of(&self.members[index], &self.shared)
    }

    /// Checks the whole set before anything touches AWS, naming the field at fault
    /// (`members[2].targetVersion`), and returns the plan every member follows.
    pub fn validate(&self) -> Result<Plan, InvalidField> {
        check_set_name(&self.set)?;
        if self.members.is_empty() || self.members.len() > SET_MAX_MEMBERS {
            return Err(InvalidField::new(
                "members",
                format!(
                    "a set has 1 to {SET_MAX_MEMBERS} members, not {}",
                    self.members.len()
                ),
            ));
        }
        let mut plan = None;
        for (i, member) in self.members.iter().enumerate() {
            plan = Some(
                self.member_spec(i)
                    .validate()
                    .map_err(|e| of_member(i, e))?,
            );
            if let Some(region) = &member.region {
                check_region(member_field(i, "region"), region)?;
                if member.arn_region().is_some_and(|r| r != region) {
                    return Err(InvalidField::new(
                        member_field(i, "region"),
                        format!(
                            "{region} is not the region of functionName {}",
                            member.function_name
                        ),
                    ));
                }
            }
            if let Some(role) = &member.role_arn {
                check_role_arn(member_field(i, "roleArn"), role)?;
            }
            // One alias is one function, alias, region and account, whatever role reaches it.
            let place = |m: &MemberSpec| {
                (
                    crate::validate::short_function_name(&m.function_name).to_string(),
                    m.alias.clone(),
                    m.region.clone().or(m.arn_region().map(String::from)),
                    m.account(),
                )
            };
            if let Some(j) = self.members[..i]
                .iter()
                .position(|other| place(other) == place(member))
            {
                return Err(InvalidField::new(
                    member_field(i, "alias"),
                    format!(
                        "{} is already member {j} of the set: an alias moves once per release",
                        member.label()
                    ),
                ));
            }
        }
        let plan = plan.expect("a set has members");
        for (i, member) in self.members.iter().enumerate() {
            let marker = worst_marker(self.link(i), &member.target_version, plan.last_index());
            if marker.len() > crate::alias::DESCRIPTION_MAX_CHARS {
                return Err(InvalidField::new(
                    member_field(i, "functionName"),
                    format!(
                        "the links to this member's neighbours in the set leave no room in the alias description (256 characters; its marker would need {}): use shorter names, or order the members so that those in other regions or accounts are not side by side",
                        marker.len()
                    ),
                ));
            }
        }
        Ok(plan)
    }

    /// The same set with every member's region said (`home` for those that say none), as a
    /// start records it: a link then names a neighbour's region whenever it differs, whoever
    /// reads it from wherever.
    pub fn with_regions(&self, home: Option<&str>) -> SetSpec {
        let mut spec = self.clone();
        for m in &mut spec.members {
            m.region = m.region_or(home);
        }
        spec
    }

    /// Member `index`'s place in the ring: its neighbours, each named relative to it.
    pub fn link(&self, index: usize) -> SetLink {
        link(&self.set, &self.members, index)
    }
}

fn spec_of(member: &MemberSpec, shared: &Shared) -> Spec {
    Spec {
        function_name: member.function_name.clone(),
        alias: member.alias.clone(),
        target_version: member.target_version.clone(),
        current_version: member.current_version.clone(),
        strategy: shared.strategy.clone(),
        alarms: member.alarms.clone(),
        notification_topic_arn: shared.notification_topic_arn.clone(),
        bake_time: shared.bake_time,
        analysis: shared.analysis.clone(),
    }
}

fn link(set: &str, members: &[impl AsRef<MemberSpec>], index: usize) -> SetLink {
    let count = members.len();
    let me = members[index].as_ref();
    let neighbour = |j: usize| {
        let other = members[j].as_ref();
        let region = |m: &MemberSpec| m.region.clone().or(m.arn_region().map(String::from));
        MemberRef {
            function_name: other.short_name_in_its_account().to_string(),
            alias: other.alias.clone(),
            region: region(other).filter(|r| Some(r) != region(me).as_ref()),
            role_arn: other.role_arn.clone(),
        }
    };
    SetLink {
        name: set.to_string(),
        index,
        count,
        next: (count > 1).then(|| neighbour((index + 1) % count)),
        previous: (count > 1).then(|| neighbour((index + count - 1) % count)),
    }
}

impl AsRef<MemberSpec> for MemberSpec {
    fn as_ref(&self) -> &MemberSpec {
        self
    }
}

impl AsRef<MemberSpec> for Member {
    fn as_ref(&self) -> &MemberSpec {
        &self.spec
    }
}

/// The longest description a member's marker can need, `why=` and `by=` aside (they are cut
/// to the room left): the version it came from is an earlier one, so no longer than the target.
fn worst_marker(link: SetLink, target: &str, last_index: usize) -> String {
    let at = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(365 * 60);
    Marker {
        rollout_id: "r-20261207T210000123Z".into(),
        from_version: "9".repeat(target.len()),
        to_version: target.into(),
        step_index: last_index,
        weight: Some(0.3333),
        status: Status::InProgress,
        next_step_at: Some(at),
        control: Some(Control::PromotedFull),
        control_id: Some("o-20261207T210000123Z".into()),
        by: None,
        why: None,
        set: Some(link),
    }
    .render()
}

impl SetRollout {
    /// A set about to start: every member at step 0 with no weight, its current version
    /// as read (`current[i]`), the lead's plan. The start's writes then make it true.
    pub fn new(spec: &SetSpec, rollout_id: String, current: &[String], now: DateTime<Utc>) -> Self {
        SetRollout {
            set: spec.set.clone(),
            members: spec
                .members
                .iter()
                .zip(current)
                .map(|(m, current)| Member {
                    spec: MemberSpec {
                        current_version: Some(current.clone()),
                        ..m.clone()
                    },
                    alias_revision_id: String::new(),
                    weight: 0.0,
                    status: None,
                    reason: None,
                    provisioned_concurrency: None,
                    step_started_at: None,
                    last_judgement: None,
                })
                .collect(),
            shared: spec.shared.clone(),
            rollout_id,
            status: Status::InProgress,
            step_index: 0,
            weight: 0.0,
            started_at: now,
            next_step_at: Some(now),
            wait_seconds: 0,
            reason: None,
            control: None,
            control_id: None,
        }
    }

    /// The spec this set started from.
    pub fn spec(&self) -> SetSpec {
        SetSpec {
            set: self.set.clone(),
            members: self.members.iter().map(|m| m.spec.clone()).collect(),
            shared: self.shared.clone(),
        }
    }

    /// Member `index` as a one-function rollout: the set's progress and the member's own.
    /// A member that ended on its own (someone else's change) keeps its end.
    pub fn member(&self, index: usize) -> Rollout {
        let m = &self.members[index];
        Rollout {
            spec: spec_of(&m.spec, &self.shared),
            rollout_id: self.rollout_id.clone(),
            status: m.status.unwrap_or(self.status),
            step_index: self.step_index,
            weight: m.weight,
            alias_revision_id: m.alias_revision_id.clone(),
            started_at: self.started_at,
            next_step_at: self.next_step_at,
            wait_seconds: self.wait_seconds,
            reason: m.reason.clone().or(self.reason.clone()),
            provisioned_concurrency: m.provisioned_concurrency,
            step_started_at: m.step_started_at,
            last_judgement: m.last_judgement.clone(),
            control: self.control,
            control_id: self.control_id.clone(),
            set: Some(link(&self.set, &self.members, index)),
        }
    }

    pub fn member_rollouts(&self) -> Vec<Rollout> {
        (0..self.members.len()).map(|i| self.member(i)).collect()
    }

    /// Takes member `index`'s own progress from `rollout` (its alias's revision, weight,
    /// judgement); the set's progress is the caller's to set.
    pub fn absorb(&mut self, index: usize, rollout: &Rollout) {
        let m = &mut self.members[index];
        m.spec.current_version = rollout.spec.current_version.clone();
        m.alias_revision_id = rollout.alias_revision_id.clone();
        m.weight = rollout.weight;
        m.provisioned_concurrency = rollout.provisioned_concurrency;
        m.step_started_at = rollout.step_started_at;
        m.last_judgement = rollout.last_judgement.clone();
    }

    /// Takes the set's progress from `rollout` (a member's, which the whole set now follows).
    pub fn follow(&mut self, rollout: &Rollout) {
        self.status = rollout.status;
        self.step_index = rollout.step_index;
        self.weight = rollout.weight;
        self.next_step_at = rollout.next_step_at;
        self.wait_seconds = rollout.wait_seconds;
        self.reason = rollout.reason.clone();
        self.control = rollout.control;
        self.control_id = rollout.control_id.clone();
    }

    /// Ends the set with `status` and the reason.
    pub fn end(&mut self, status: Status, reason: String) {
        self.control = None;
        self.status = status;
        self.reason = Some(reason);
        self.next_step_at = None;
        self.wait_seconds = 0;
    }

    /// Checks a set state handed back (by Step Functions, a person) before anything acts on
    /// it: its spec, its id, and the set's progress against the plan; returns the plan.
    pub fn validate(&self) -> Result<Plan, InvalidField> {
        let plan = self.spec().validate()?;
        let lead = self.member(0);
        lead.validate()?;
        if self.status == Status::InProgress {
            for (i, m) in self.members.iter().enumerate() {
                if m.spec.current_version.is_none() {
                    return Err(InvalidField::new(
                        member_field(i, "currentVersion"),
                        "a set state must carry the version each member started from",
                    ));
                }
                // A member ends only with its set (its own status is written at the end).
                if m.status.is_some() {
                    return Err(InvalidField::new(
                        member_field(i, "status"),
                        "a member of a set in progress has no status of its own",
                    ));
                }
                let w = m.weight;
                let step = plan.steps[self.step_index].weight;
                // A member is at the set's step, or (its write not yet landed) the one before.
                let before = self
                    .step_index
                    .checked_sub(1)
                    .map_or(0.0, |s| plan.steps[s].weight);
                if m.status.is_none() && (w - step).abs() > 1e-9 && (w - before).abs() > 1e-9 {
                    return Err(InvalidField::new(
                        member_field(i, "weight"),
                        format!("{w} does not fit step {} of the plan", self.step_index),
                    ));
                }
            }
        }
        Ok(plan)
    }

    /// The set as one rollout, for what shows progress: its lead with the set's progress.
    pub fn view(&self) -> Rollout {
        let mut lead = self.member(0);
        lead.status = self.status;
        lead.weight = self.weight;
        lead.reason = self.reason.clone();
        lead
    }

    /// The member at `index` as people name it.
    pub fn label(&self, index: usize) -> String {
        self.members[index].spec.label()
    }
}

impl Member {
    /// The JSON field names of a member in a set state (worked out from serde).
    pub fn field_names() -> Vec<String> {
        let spec = MemberSpec {
            function_name: String::new(),
            alias: String::new(),
            target_version: String::new(),
            current_version: Some(String::new()),
            alarms: vec![String::new()],
            region: Some(String::new()),
            role_arn: Some(String::new()),
        };
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        let member = Member {
            spec,
            alias_revision_id: String::new(),
            weight: 0.0,
            status: Some(Status::Aborted),
            reason: Some(String::new()),
            provisioned_concurrency: Some(Provisioning::Ready),
            step_started_at: Some(epoch),
            last_judgement: Some(Judgement::new(
                &Analysis::default(),
                crate::judgement::VersionMetrics::none(""),
                crate::judgement::VersionMetrics::none(""),
                String::new(),
                crate::judgement::Window {
                    start: String::new(),
                    end: String::new(),
                },
            )),
        };
        match serde_json::to_value(member) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }
}

impl SetRollout {
    /// The JSON field names of a set state (worked out from serde).
    pub fn field_names() -> Vec<String> {
        let spec = SetSpec {
            set: String::new(),
            members: Vec::new(),
            shared: Shared {
                strategy: String::new(),
                alarms: Vec::new(),
                notification_topic_arn: None,
                bake_time: None,
                analysis: None,
            },
        };
        let mut state = SetRollout::new(&spec, String::new(), &[], DateTime::<Utc>::UNIX_EPOCH);
        state.reason = Some(String::new());
        state.control = Some(Control::Paused);
        state.control_id = Some(String::new());
        let mut names: Vec<String> = match serde_json::to_value(state) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        };
        // The shared fields a state leaves out when empty.
        for name in Shared::field_names() {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
        names
    }
}

#[cfg(test)]
mod tests;
