//! Release sets driven: every member's pre-flight before any write, each step on every member
//! in lockstep, every member back on any breach, one event per set step. Each member is a
//! one-function rollout carried out by the [`Driver`] of its own place (region, account),
//! quietly: the set tells people once. The lead (member 0) is written first at every step and
//! carries the set's operator control, so a pause that lands mid-step holds the whole set.

use chrono::{DateTime, Utc};
use futures::future::join_all;
use rollout_core::engine::{self, Refusal};
use rollout_core::set::{member_field, MemberSpec, SetRollout, SetSpec};
use rollout_core::{AlarmVerdict, EventKind, InvalidField, Notification, Rollout, Spec};

use crate::announce::Announcer;
use crate::driver::{DriveError, Driver, Observation};
use crate::ports::{AlarmSource, Place, Places};
use crate::readiness::ReadyWait;

mod found;
pub mod ring;
mod step;
mod stop;
mod weights;

pub use stop::{SetStopRequest, SetStopped};

/// Drives release sets: `home` is the caller's own driver (the set's alarms, topic, channels,
/// patience and name); `places` finds each member's adapters.
pub struct SetDriver<'a> {
    pub home: &'a Driver<'a>,
    pub places: &'a dyn Places,
}

/// What a start or a step of a set did, and a warning when the aliases are safe but people
/// could not be told.
#[derive(Debug, Clone, PartialEq)]
pub struct SetStepped {
    pub set: SetRollout,
    pub warning: Option<String>,
}

impl SetStepped {
    fn quiet(set: SetRollout) -> SetStepped {
        SetStepped { set, warning: None }
    }
}

/// What a set's start read, all its pre-flight checks passed: ready to write.
pub struct Prepared<'a> {
    spec: SetSpec,
    plan: rollout_core::Plan,
    crew: Crew<'a>,
    starts: Vec<(rollout_core::Start, Observation)>,
    now: DateTime<Utc>,
}

/// The members' own drivers, in the members' order.
struct Crew<'a> {
    drivers: Vec<Driver<'a>>,
    places: Vec<Place<'a>>,
}

impl<'a> SetDriver<'a> {
    /// Each member's place and a quiet driver there; every member whose place cannot be
    /// reached (its role cannot be assumed) is a finding.
    async fn crew(&self, members: &[MemberSpec]) -> Result<Crew<'a>, Vec<(usize, DriveError)>> {
        let found = join_all(members.iter().map(|m| self.places.place(m))).await;
        let mut places = Vec::new();
        let mut findings = Vec::new();
        for (i, place) in found.into_iter().enumerate() {
            match place {
                Ok(place) => places.push(place),
                Err(e) => findings.push((
                    i,
                    DriveError::Invalid(InvalidField::new(
                        member_field(i, "roleArn"),
                        format!(
                            "{} cannot be assumed: {}",
                            members[i].role_arn.as_deref().unwrap_or("(none)"),
                            e.message
                        ),
                    )),
                )),
            }
        }
        if !findings.is_empty() {
            return Err(findings);
        }
        let drivers = places.iter().map(|p| self.member_driver(*p)).collect();
        Ok(Crew { drivers, places })
    }

    /// A quiet driver in `place` (the set tells people once), with the caller's patience.
    pub fn member_driver(&self, place: Place<'a>) -> Driver<'a> {
        let home = self.home;
        Driver {
            aliases: place.aliases,
            alarms: place.alarms,
            metrics: place.metrics,
            topics: home.topics,
            // Quiet: the set tells people once, for every member.
            announcer: Announcer::new(Vec::new(), home.patience),
            own_metrics: home.own_metrics,
            source: home.source,
            extra_alarms: &[],
            default_topic: home.default_topic,
            patience: home.patience,
            rolling_back: Default::default(),
            owed_weights: Default::default(),
        }
    }

    /// The set's alarms (and the driver's extra ones), read once in the caller's place
    /// together with the members' own alarms there; a member elsewhere has its own alarms
    /// read in its place, once per place. Returns every verdict, the set's own, and each
    /// member's (the set's and its own).
    async fn read_alarms(
        &self,
        members: &[MemberSpec],
        set_alarms: &[String],
        crew: &Crew<'_>,
    ) -> (Vec<AlarmVerdict>, Vec<AlarmVerdict>, Vec<Vec<AlarmVerdict>>) {
        let home_names = self.home.alarm_names_of(set_alarms);
        // Places by their alarm source: the home place first.
        let mut groups: Vec<(&dyn AlarmSource, Vec<String>)> =
            vec![(self.home.alarms, home_names.clone())];
        for (m, place) in members.iter().zip(&crew.places) {
            let group = match groups
                .iter()
                .position(|(source, _)| same_source(*source, place.alarms))
            {
                Some(g) => g,
                None => {
                    groups.push((place.alarms, Vec::new()));
                    groups.len() - 1
                }
            };
            for name in &m.alarms {
                if !groups[group].1.contains(name) {
                    groups[group].1.push(name.clone());
                }
            }
        }
        let read = join_all(groups.iter().map(|(source, names)| async move {
            match names.is_empty() {
                true => Vec::new(),
                false => crate::patience::read_alarms(*source, names, &self.home.patience).await,
            }
        }))
        .await;
        let set_level: Vec<AlarmVerdict> = read[0]
            .iter()
            .filter(|v| home_names.contains(&v.name))
            .cloned()
            .collect();
        let per_member = members
            .iter()
            .zip(&crew.places)
            .map(|(m, place)| {
                let g = groups
                    .iter()
                    .position(|(source, _)| same_source(*source, place.alarms))
                    .unwrap_or(0);
                let mut verdicts = set_level.clone();
                verdicts.extend(
                    read[g]
                        .iter()
                        .filter(|v| m.alarms.contains(&v.name))
                        .cloned(),
                );
                verdicts
            })
            .collect();
        let mut all: Vec<AlarmVerdict> = Vec::new();
        for v in read.into_iter().flatten() {
            if !all.contains(&v) {
                all.push(v);
            }
        }
        (all, set_level, per_member)
    }

    /// Pre-flight checks of every member (waiting for `Pending` targets as `ready` allows),
    /// then the first step on all of them. Refused, with every finding and nothing written,
    /// unless every member may start.
    pub async fn start(
        &self,
        spec: &SetSpec,
        rollout_id: String,
        now: DateTime<Utc>,
        ready: &ReadyWait<'_>,
    ) -> Result<SetStepped, DriveError> {
        let prepared = self.prepare(spec, now, ready).await?;
        self.begin(prepared, rollout_id).await
    }

    /// A start's reads: every member's pre-flight checks (waiting for `Pending` targets as
    /// `ready` allows); nothing is written, so a caller may drop it at any point.
    pub async fn prepare(
        &self,
        spec: &SetSpec,
        now: DateTime<Utc>,
        ready: &ReadyWait<'_>,
    ) -> Result<Prepared<'a>, DriveError> {
        // Every member's region said, so that each link names a neighbour's when it differs.
        let spec = spec.with_regions(self.places.home_region().as_deref());
        let plan = spec.validate()?;
        let crew = self
            .crew(&spec.members)
            .await
            .map_err(|f| refused(&spec, f))?;
        let specs: Vec<_> = (0..spec.members.len())
            .map(|i| spec.member_spec(i))
            .collect();
        // The alarms are read below, once for the set: not again by each member's look.
        let plan_ref = &plan;
        let observed = join_all(crew.drivers.iter().zip(&specs).map(|(d, s)| {
            let unalarmed = Spec {
                alarms: Vec::new(),
                ..s.clone()
            };
            async move { d.observe(&unalarmed, plan_ref, ready).await }
        }))
        .await;
        let (_, _, verdicts) = self
            .read_alarms(&spec.members, &spec.shared.alarms, &crew)
            .await;
        let mut findings = Vec::new();
        if let Some(topic) = self.home.topic(&specs[0]) {
            if let Err(why) = self.home.topic_usable(topic).await {
                return Err(InvalidField::new("notificationTopicArn", why).into());
            }
        }
        let mut starts = Vec::new();
        for (i, observation) in observed.into_iter().enumerate() {
            let observation = match observation {
                Ok(o) => o,
                Err(e) => {
                    findings.push((i, e));
                    continue;
                }
            };
            let seen = Observation {
                alarms: verdicts[i].clone(),
                ..observation
            };
            match engine::begin(&specs[i], &plan, &seen.observed()) {
                Ok(start) => starts.push((start, seen)),
                Err(Refusal::Invalid(field)) => findings.push((i, DriveError::Invalid(field))),
                Err(refusal) => findings.push((i, DriveError::Refused(refusal))),
            }
        }
        // Lockstep with one member waiting for its allocation and another not would end the
        // set before the allocation is read: all members with provisioned concurrency, or none.
        let provisioned: Vec<bool> = starts
            .iter()
            .map(|(_, s)| s.provisioned.is_some())
            .collect();
        if findings.is_empty() && provisioned.iter().any(|p| *p) && !provisioned.iter().all(|p| *p)
        {
            let with: Vec<String> = (0..provisioned.len())
                .filter(|i| provisioned[*i])
                .map(|i| format!("members[{i}] {}", spec.members[i].label()))
                .collect();
            return Err(DriveError::Refused(Refusal::Conflict(format!(
                "{} {} provisioned concurrency and the other members have none: a set moves in lockstep, so either every member's alias has it or none has",
                with.join(", "),
                if with.len() == 1 { "has" } else { "have" }
            ))));
        }
        if !findings.is_empty() {
            return Err(refused(&spec, findings));
        }
        let waited = starts
            .iter()
            .map(|(_, seen)| seen.target.waited)
            .max()
            .unwrap_or_default();
        let now = now + chrono::Duration::from_std(waited).unwrap_or_default();
        Ok(Prepared {
            spec,
            plan,
            crew,
            starts,
            now,
        })
    }

    /// A start's writes, once [`SetDriver::prepare`] passed: the first step on every member
    /// at once (a member's write that fails for good puts back those that landed). Short,
    /// and best not dropped half-way.
    pub async fn begin(
        &self,
        prepared: Prepared<'a>,
        rollout_id: String,
    ) -> Result<SetStepped, DriveError> {
        let Prepared {
            spec,
            plan,
            crew,
            starts,
            now,
        } = prepared;
        let stepped = step::begin(self, &spec, &plan, &crew, starts, rollout_id, now).await?;
        // The start has no budget of steps to keep: its weights go out at once.
        self.publish_weights(&stepped.set, now).await;
        Ok(stepped)
    }

    /// One step of a set in flight: see the `step` module.
    pub async fn step(
        &self,
        set: &SetRollout,
        now: DateTime<Utc>,
    ) -> Result<SetStepped, DriveError> {
        if set.status.is_terminal() {
            return Ok(SetStepped::quiet(set.clone()));
        }
        let plan = set.validate()?;
        let members: Vec<MemberSpec> = set.members.iter().map(|m| m.spec.clone()).collect();
        // A member's place that cannot be reached mid-rollout (STS throttled, a role's trust
        // changed) moves nothing: AWS unavailable, tried again, never invalid input.
        let crew = self.crew(&members).await.map_err(|findings| {
            let why: Vec<String> = findings.iter().map(|(_, e)| e.to_string()).collect();
            DriveError::Alias(crate::ports::AliasError::Aws(crate::ports::CallFailed {
                operation: "AssumeRole",
                message: why.join("; "),
                transient: true,
            }))
        })?;
        let stepped = step::step(self, set, &plan, &crew, now).await?;
        self.record_weights(set, &stepped.set, now).await;
        Ok(stepped)
    }

    /// Drives `set` to its end through `pacer`, as [`Driver::run_until_end`] drives one
    /// alias (the same loop; the pacer sees the set as its lead with the set's progress).
    pub async fn run_until_end(
        &self,
        set: SetRollout,
        pacer: &mut dyn crate::driver::Pacer,
        poll: Option<std::time::Duration>,
    ) -> Result<SetRollout, (SetRollout, DriveError)> {
        crate::driver::drive(
            set,
            SetRollout::view,
            async |set: &SetRollout, now| {
                let stepped = self.step(set, now).await?;
                Ok((stepped.set, stepped.warning))
            },
            pacer,
            poll,
        )
        .await
    }

    /// Tells people a set could not go on (an AWS error its driver gave up on, the driver
    /// stopped), leaving every member as it is; best effort, the failure is being reported.
    pub async fn report_failure(
        &self,
        set: &SetRollout,
        reason: String,
        now: DateTime<Utc>,
    ) -> SetRollout {
        let mut failed = set.clone();
        failed.end(rollout_core::Status::Failed, reason);
        // Each report is its own event (two stops of one driver are two alerts).
        let mut note = Notification::of_set(
            EventKind::Failed,
            &failed,
            0,
            Vec::new(),
            now,
            self.home.source,
        );
        note.event_id = format!("{}@{}", note.event_id, now.timestamp_millis());
        let topic = failed
            .shared
            .notification_topic_arn
            .as_deref()
            .or(self.home.default_topic);
        let _ = self.home.send(topic, &note).await;
        failed
    }

    /// Tells people of one event of the set (about member `focus`).
    async fn notify(
        &self,
        kind: EventKind,
        set: &SetRollout,
        focus: usize,
        alarms: Vec<AlarmVerdict>,
        now: DateTime<Utc>,
    ) -> Option<String> {
        tracing::info!(event = kind.as_str(), set = %set.set, rollout = %set.rollout_id, weight = set.weight, status = set.status.as_str(), "set event");
        let note = Notification::of_set(kind, set, focus, alarms, now, self.home.source);
        let topic = set
            .shared
            .notification_topic_arn
            .as_deref()
            .or(self.home.default_topic);
        self.home.send(topic, &note).await
    }
}

/// Whether two alarm sources are the same adapter (the same place).
fn same_source(a: &dyn AlarmSource, b: &dyn AlarmSource) -> bool {
    std::ptr::addr_eq(a as *const dyn AlarmSource, b as *const dyn AlarmSource)
}

/// Every member's finding in one refusal, each naming its member: invalid input when any
/// is (the first invalid field named), else an AWS error, else not ready, else unhealthy (an
/// alarm), else a conflict.
fn refused(spec: &SetSpec, findings: Vec<(usize, DriveError)>) -> DriveError {
    let text = findings
        .iter()
        .map(|(i, e)| format!("members[{i}] {}: {e}", spec.members[*i].label()))
        .collect::<Vec<_>>()
        .join("; ");
    let invalid = findings.iter().find_map(|(_, e)| match e {
        DriveError::Invalid(f) => Some(f.field),
        _ => None,
    });
    if let Some(field) = invalid {
        return DriveError::Invalid(InvalidField::new(field, text));
    }
    let mut findings = findings;
    if let Some(at) = findings
        .iter()
        .position(|(_, e)| matches!(e, DriveError::Alias(_)))
    {
        return findings.swap_remove(at).1;
    }
    let any = |f: fn(&Refusal) -> bool| {
        findings
            .iter()
            .any(|(_, e)| matches!(e, DriveError::Refused(r) if f(r)))
    };
    DriveError::Refused(match () {
        _ if any(|r| matches!(r, Refusal::NotReady(_))) => Refusal::NotReady(text),
        _ if any(|r| matches!(r, Refusal::Unhealthy(_))) => Refusal::Unhealthy(text),
        _ => Refusal::Conflict(text),
    })
}

/// A member's rollout as the set starts it (see [`Rollout::started`]), marked as a member.
fn started(
    set: &SetRollout,
    index: usize,
    plan: &rollout_core::Plan,
    now: DateTime<Utc>,
    provisioned: bool,
    revision: String,
) -> Rollout {
    let member = set.member(index);
    let mut started = Rollout::started(
        &member.spec,
        plan,
        set.rollout_id.clone(),
        member.spec.current_version.clone().unwrap_or_default(),
        provisioned,
        now,
    );
    started.set = member.set;
    started.alias_revision_id = revision;
    started
}

#[cfg(test)]
mod review_tests;
#[cfg(test)]
mod tests;
