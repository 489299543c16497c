//! A set's steps: the first on every member at once, then each decision made for the whole
//! set (any member's breach is every member's) and carried out on every member, the lead
//! first. Whatever a step finds — a member changed by someone else, a write that failed for
//! good, members left at different steps by a driver that died mid-step — ends with every
//! member at one step, or every member back.

use std::time::Instant;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use rollout_core::engine::{self, Decision, Start};
use rollout_core::set::{SetRollout, SetSpec};
use rollout_core::{
    AlarmVerdict, AliasCheck, EventKind, Judgement, Plan, Provisioning, Refusal, Rollout, Status,
};

use super::{started, Crew, SetDriver, SetStepped};
use crate::driver::{DriveError, Observation, RollbackEnd};
use crate::ports::AliasError;

/// What every part of one step of a set works on.
#[derive(Clone, Copy)]
struct At<'s, 'a> {
    sd: &'s SetDriver<'a>,
    set: &'s SetRollout,
    plan: &'s Plan,
    crew: &'s Crew<'a>,
    now: DateTime<Utc>,
}

/// The first step on every member (every pre-flight passed). A replayed start (members that
/// already carry this set's rollout at its first step) writes only the members still to
/// start; a first write that fails for good puts back those that landed.
pub(super) async fn begin(
    sd: &SetDriver<'_>,
    spec: &SetSpec,
    plan: &Plan,
    crew: &Crew<'_>,
    mut starts: Vec<(Start, Observation)>,
    rollout_id: String,
    now: DateTime<Utc>,
) -> Result<SetStepped, DriveError> {
    let n = spec.members.len();
    // A member already promoted by this very set (a driver died after its write) is taken
    // up with the set's other members, not refused as already live.
    let in_flight: Vec<String> = starts
        .iter()
        .filter_map(|(s, _)| match s {
            Start::Resume(m) => Some(m.rollout_id.clone()),
            _ => None,
        })
        .collect();
    for (start, seen) in starts.iter_mut() {
        if let (Start::AlreadyLive, Some(m)) = (&*start, seen.alias.marker()) {
            let ours = m.status == Status::Succeeded
                && m.describes(&seen.alias)
                && in_flight.contains(&m.rollout_id)
                && m.set.as_ref().is_some_and(|l| l.name == spec.set);
            if ours {
                *start = Start::Resume(Box::new(m));
            }
        }
    }
    let mut alarms: Vec<AlarmVerdict> = Vec::new();
    for v in starts.iter().flat_map(|(_, seen)| seen.alarms.iter()) {
        if !alarms.contains(v) {
            alarms.push(v.clone());
        }
    }
    let live: Vec<usize> = (0..n)
        .filter(|i| matches!(starts[*i].0, Start::AlreadyLive))
        .collect();
    if live.len() == n {
        let currents: Vec<String> = starts
            .iter()
            .map(|(_, o)| o.alias.version.clone())
            .collect();
        let mut done = SetRollout::new(spec, rollout_id, &currents, now);
        for (m, (_, seen)) in done.members.iter_mut().zip(&starts) {
            m.weight = 1.0;
            m.alias_revision_id = seen.alias.revision_id.clone();
        }
        done.weight = 1.0;
        done.end(
            Status::Succeeded,
            "every member's target version is already live".into(),
        );
        return Ok(SetStepped::quiet(done));
    }
    if let Some(&i) = live.first() {
        return Err(DriveError::Refused(Refusal::Conflict(format!(
            "members[{i}] {}: version {} is already live; a set moves every member from its version to its target, so leave it out",
            spec.members[i].label(),
            spec.members[i].target_version
        ))));
    }
    let resumed: Vec<(usize, &rollout_core::Marker)> = starts
        .iter()
        .enumerate()
        .filter_map(|(i, (s, _))| match s {
            Start::Resume(m) => Some((i, &**m)),
            _ => None,
        })
        .collect();
    let rollout_id = resumed
        .first()
        .map_or(rollout_id, |(_, m)| m.rollout_id.clone());
    let theirs = resumed.iter().find(|(_, m)| {
        m.rollout_id != rollout_id || m.set.as_ref().is_none_or(|l| l.name != spec.set)
    });
    if let Some((i, _)) = theirs {
        return Err(DriveError::Refused(Refusal::Conflict(format!(
            "members[{i}] {}: another rollout of it is in progress",
            spec.members[*i].label()
        ))));
    }
    let currents: Vec<String> = starts
        .iter()
        .map(|(s, seen)| match s {
            Start::Resume(m) => m.from_version.clone(),
            _ => seen.alias.version.clone(),
        })
        .collect();
    let mut set = SetRollout::new(spec, rollout_id, &currents, now);
    if resumed.iter().any(|(_, m)| m.step_index > 0) || resumed.len() == n {
        // Every member started already (or the set moved on): the progress the markers show.
        if resumed.len() < n {
            return Err(DriveError::Refused(Refusal::Conflict(format!(
                "the set {} is already in progress past its first step on some members: continue it from its state, or see `rollout status`",
                spec.set
            ))));
        }
        let rollouts: Vec<Rollout> = resumed
            .iter()
            .map(|(i, m)| {
                let seen = &starts[*i].1;
                let mut r = sd.home.resumed_from(
                    &set.member(*i).spec,
                    plan,
                    m,
                    &seen.alias,
                    seen.provisioned.is_some(),
                    now,
                );
                r.set = set.member(*i).set;
                r
            })
            .collect();
        // Members left at different steps (a driver stopped between two writes): brought to
        // the furthest, told as that step.
        let steps = |r: &Rollout| (r.status, r.step_index);
        if rollouts.iter().any(|r| steps(r) != steps(&rollouts[0])) {
            let here = At {
                sd,
                set: &set,
                plan,
                crew,
                now,
            };
            return Ok(here.settle(rollouts, alarms, None).await);
        }
        let warning = match rollouts.iter().all(|r| r.step_index == 0) {
            // The start's own alert may never have gone out (the same eventId if it did).
            true => {
                for (i, r) in rollouts.iter().enumerate() {
                    set.absorb(i, r);
                }
                follow(&mut set, &rollouts);
                sd.notify(EventKind::Started, &set, 0, alarms, now).await
            }
            false => None,
        };
        for (i, r) in rollouts.iter().enumerate() {
            set.absorb(i, r);
        }
        follow(&mut set, &rollouts);
        return Ok(SetStepped { set, warning });
    }
    let begun = Instant::now();
    let writes = (0..n).map(|i| {
        let seen = &starts[i].1;
        let first = started(
            &set,
            i,
            plan,
            now,
            seen.provisioned.is_some(),
            seen.alias.revision_id.clone(),
        );
        let resumed_here = resumed.iter().any(|(j, _)| *j == i);
        async move {
            match resumed_here {
                // Its first step landed before (its answer lost, or a driver stopped).
                true => Ok(Rollout {
                    alias_revision_id: seen.alias.revision_id.clone(),
                    ..first
                }),
                false => write_first(&crew.drivers[i], first).await,
            }
        }
    });
    let written = join_all(writes).await;
    if let Some(at) = written.iter().position(Result::is_err) {
        let why = match &written[at] {
            Err(e) => e.to_string(),
            Ok(_) => unreachable!(),
        };
        let latest: Vec<Rollout> = written
            .into_iter()
            .enumerate()
            .map(|(i, w)| {
                // A write that failed may still have landed: its rollback starts from the
                // RevisionId read before it (a conflict then tells its own write apart).
                let seen = &starts[i].1;
                let provisioned = seen.provisioned.is_some();
                let before = seen.alias.revision_id.clone();
                w.unwrap_or_else(|_| started(&set, i, plan, now, provisioned, before))
            })
            .collect();
        let reason = format!(
            "members[{at}] {}: its first step could not be written ({why})",
            set.label(at)
        );
        let here = At {
            sd,
            set: &set,
            plan,
            crew,
            now,
        };
        return Ok(here
            .put_back(latest, reason, at, Status::RolledBack, alarms)
            .await);
    }
    let rollouts: Vec<Rollout> = written.into_iter().flatten().collect();
    for (i, r) in rollouts.iter().enumerate() {
        set.absorb(i, r);
    }
    follow(&mut set, &rollouts);
    hold_from_last_write(&mut set, begun);
    let kind = match set.status {
        Status::Succeeded => EventKind::Succeeded,
        _ => EventKind::Started,
    };
    let warning = sd.notify(kind, &set, 0, alarms, now).await;
    Ok(SetStepped { set, warning })
}

/// A member's first write; a conflict that turns out to be this very start (its answer
/// lost) is ours.
async fn write_first(
    driver: &crate::driver::Driver<'_>,
    mut first: Rollout,
) -> Result<Rollout, DriveError> {
    match driver.write(&first, &first).await {
        Ok(written) => {
            first.alias_revision_id = written.revision_id;
            Ok(first)
        }
        Err(AliasError::Conflict) => {
            let alias = driver
                .read_alias(&first.spec.function_name, &first.spec.alias)
                .await?;
            match alias.marker() {
                Some(m)
                    if m.rollout_id == first.rollout_id
                        && m.step_index == 0
                        && m.describes(&alias) =>
                {
                    first.alias_revision_id = alias.revision_id;
                    Ok(first)
                }
                _ => Err(DriveError::Refused(Refusal::Conflict(format!(
                    "alias {} of {} changed while the set was starting",
                    first.spec.alias, first.spec.function_name
                )))),
            }
        }
        Err(other) => Err(other.into()),
    }
}

/// One step of a set in flight: the alarms read once for the set, each member judged, one
/// decision for all; then hold, advance (the lead first) or put every member back.
pub(super) async fn step(
    sd: &SetDriver<'_>,
    set: &SetRollout,
    plan: &Plan,
    crew: &Crew<'_>,
    now: DateTime<Utc>,
) -> Result<SetStepped, DriveError> {
    let members = set.member_rollouts();
    let specs: Vec<_> = set.members.iter().map(|m| m.spec.clone()).collect();
    let (alarms, set_level, verdicts) = sd.read_alarms(&specs, &set.shared.alarms, crew).await;
    let judged = join_all(members.iter().enumerate().map(|(i, r)| {
        let (d, v) = (&crew.drivers[i], &verdicts[i]);
        async move {
            if r.provisioned_concurrency == Some(Provisioning::Allocating) {
                let seen = match rollout_core::alarms::failing(v) {
                    Some(_) => None,
                    None => {
                        d.read_provisioned(&r.spec.function_name, &r.spec.alias)
                            .await?
                    }
                };
                let decision = engine::decide_allocating(r, v, seen.as_ref(), now);
                return Ok::<_, DriveError>((None, decision));
            }
            let judgement = d.judge(r, now).await;
            let decision = engine::decide(r, plan, v, judgement.as_ref(), now);
            Ok((judgement, decision))
        }
    }))
    .await;
    let mut judgements = Vec::new();
    let mut decisions = Vec::new();
    for j in judged {
        let (judgement, decision) = j?;
        judgements.push(judgement);
        decisions.push(decision);
    }
    let set_breach = rollout_core::alarms::failing(&set_level);
    let here = At {
        sd,
        set,
        plan,
        crew,
        now,
    };
    match combine(&members, &decisions) {
        (Decision::RollBack { reason }, focus) => {
            let reason = match set_breach {
                Some(_) => reason,
                None => format!("members[{focus}] {}: {reason}", set.label(focus)),
            };
            Ok(here
                .put_back(members, reason, focus, Status::RolledBack, alarms)
                .await)
        }
        (Decision::Ended, _) => Ok(SetStepped::quiet(set.clone())),
        (decision @ (Decision::Wait { .. } | Decision::StartHold), _) => {
            here.hold(members, &decision, judgements, alarms).await
        }
        (decision, _) => {
            here.advance(members, &decision, judgements, verdicts, alarms)
                .await
        }
    }
}

/// One decision for the whole set: any member's breach puts every member back (the first
/// one found is the one named); any member that must wait holds every member; a step
/// advances only when every member may.
fn combine(members: &[Rollout], decisions: &[Decision]) -> (Decision, usize) {
    if let Some(i) = decisions
        .iter()
        .position(|d| matches!(d, Decision::RollBack { .. }))
    {
        return (decisions[i].clone(), i);
    }
    if decisions.iter().all(|d| *d == Decision::Ended) {
        return (Decision::Ended, 0);
    }
    let allocating: Vec<usize> = (0..members.len())
        .filter(|i| members[*i].provisioned_concurrency == Some(Provisioning::Allocating))
        .collect();
    if !allocating.is_empty() {
        return match allocating
            .iter()
            .all(|i| decisions[*i] == Decision::StartHold)
        {
            true => (Decision::StartHold, 0),
            false => (
                Decision::Wait {
                    seconds: wait_of(decisions),
                },
                0,
            ),
        };
    }
    if decisions.iter().any(|d| matches!(d, Decision::Wait { .. })) {
        return (
            Decision::Wait {
                seconds: wait_of(decisions),
            },
            0,
        );
    }
    (decisions[0].clone(), 0)
}

fn wait_of(decisions: &[Decision]) -> u64 {
    decisions
        .iter()
        .filter_map(|d| match d {
            Decision::Wait { seconds } => Some(*seconds),
            _ => None,
        })
        .min()
        .unwrap_or(0)
}

impl At<'_, '_> {
    /// Nothing is due: every alias read, to find an operator's word on the lead, a replay's
    /// later progress, or someone else's change (then every other member goes back).
    async fn hold(
        &self,
        members: Vec<Rollout>,
        decision: &Decision,
        judgements: Vec<Option<Judgement>>,
        alarms: Vec<AlarmVerdict>,
    ) -> Result<SetStepped, DriveError> {
        let At {
            plan, crew, now, ..
        } = *self;
        let read = join_all(
            crew.drivers
                .iter()
                .zip(&members)
                .map(|(d, r)| d.read_alias(&r.spec.function_name, &r.spec.alias)),
        )
        .await;
        let mut results = Vec::new();
        for (i, ((r, alias), judgement)) in members.iter().zip(read).zip(judgements).enumerate() {
            let alias = alias?;
            // Only the members still allocating start their hold; the others wait with them.
            let own = match (decision, r.provisioned_concurrency) {
                (Decision::StartHold, Some(Provisioning::Allocating)) => Decision::StartHold,
                (Decision::StartHold, _) => Decision::Wait { seconds: 0 },
                (d, _) => d.clone(),
            };
            results.push(match engine::reconcile(r, plan, &alias) {
                AliasCheck::Ours => r.after_judged(&own, plan, judgement, now),
                AliasCheck::Controlled(m) if i == 0 => r.controlled(&m, &alias, now),
                // The set's operator word is the lead's: one on another member is not taken.
                AliasCheck::Controlled(_) => {
                    let mut next = r.after_judged(&own, plan, judgement, now);
                    next.alias_revision_id = alias.revision_id.clone();
                    next
                }
                AliasCheck::Replayed(m) => r.replayed(&m, plan, &alias, now),
                AliasCheck::RestoredToCurrent => {
                    let mut next = r.clone();
                    next.alias_revision_id = alias.revision_id.clone();
                    next.weight = 0.0;
                    next.end(
                        Status::RolledBack,
                        format!(
                            "alias {} was restored to version {} by someone else",
                            r.spec.alias, alias.version
                        ),
                    );
                    next
                }
                AliasCheck::ChangedByOthers(reason) => {
                    let mut next = r.clone();
                    next.alias_revision_id = alias.revision_id.clone();
                    next.end(Status::Aborted, reason);
                    next
                }
            });
        }
        Ok(self.settle(results, alarms, None).await)
    }
}

impl At<'_, '_> {
    /// A step due: the lead written first (an operator's pause or promote that landed on it
    /// just before is taken instead, and no other member moves), then every other member at
    /// once. A member whose write fails for good puts every member back.
    async fn advance(
        &self,
        members: Vec<Rollout>,
        decision: &Decision,
        judgements: Vec<Option<Judgement>>,
        verdicts: Vec<Vec<AlarmVerdict>>,
        alarms: Vec<AlarmVerdict>,
    ) -> Result<SetStepped, DriveError> {
        let At {
            set,
            plan,
            crew,
            now,
            ..
        } = *self;
        let begun = Instant::now();
        let carry = |i: usize| {
            crew.drivers[i].carry_out(
                &members[i],
                plan,
                verdicts[i].clone(),
                judgements[i].clone(),
                decision.clone(),
                now,
            )
        };
        // Nothing else moved yet: an error here is the whole step's (retried like one alias's).
        let lead = carry(0).await?.rollout;
        let moved = lead.step_index != members[0].step_index || lead.status != members[0].status;
        if !moved || lead.status.is_terminal() && lead.status != Status::Succeeded {
            let mut results = members.clone();
            results[0] = lead;
            return Ok(self.settle(results, alarms, None).await);
        }
        let others = join_all((1..members.len()).map(carry)).await;
        let mut results = vec![lead];
        let mut failed = None;
        for (k, other) in others.into_iter().enumerate() {
            let i = k + 1;
            match other {
                Ok(stepped) => results.push(stepped.rollout),
                Err(e) => {
                    failed.get_or_insert((i, e));
                    // Where it stands is not known: the rollback re-reads it.
                    results.push(members[i].clone());
                }
            }
        }
        if let Some((i, e)) = failed {
            let reason = format!(
                "members[{i}] {}: its step could not be written ({e})",
                set.label(i)
            );
            return Ok(self
                .put_back(results, reason, i, Status::RolledBack, alarms)
                .await);
        }
        Ok(self.settle(results, alarms, Some(begun)).await)
    }
}

impl At<'_, '_> {
    /// Brings what each member came to together: a member someone else changed or restored puts
    /// every other member back; members behind the furthest (a driver that died mid-step, a
    /// replay) are brought to its step; then the set follows its lead and tells people once.
    async fn settle(
        &self,
        mut results: Vec<Rollout>,
        alarms: Vec<AlarmVerdict>,
        begun: Option<Instant>,
    ) -> SetStepped {
        let At {
            sd,
            set,
            plan,
            crew,
            now,
        } = *self;
        if let Some(i) = results
            .iter()
            .position(|r| r.status.is_terminal() && r.status != Status::Succeeded)
        {
            let cause = match results[i].status {
                Status::Aborted => Status::Aborted,
                _ => Status::RolledBack,
            };
            let reason = format!(
                "members[{i}] {}: {}",
                set.label(i),
                results[i].reason.clone().unwrap_or_default()
            );
            return self.put_back(results, reason, i, cause, alarms).await;
        }
        let rank = |r: &Rollout| (r.status == Status::Succeeded, r.step_index);
        let furthest = (0..results.len())
            .max_by_key(|i| (rank(&results[*i]), std::cmp::Reverse(*i)))
            .unwrap_or(0);
        let target = results[furthest].clone();
        let behind: Vec<usize> = (0..results.len())
            .filter(|i| rank(&results[*i]) < rank(&target))
            .collect();
        if !behind.is_empty() {
            let caught = join_all(behind.iter().map(|&i| {
                let mut next = results[i].clone();
                next.step_index = target.step_index;
                next.weight = target.weight;
                next.status = target.status;
                next.next_step_at = target.next_step_at;
                next.step_started_at = target.step_started_at;
                next.reason = target.reason.clone();
                next.control = None;
                let from = results[i].clone();
                async move {
                    let driver = &crew.drivers[i];
                    match driver.write(&from, &next).await {
                        Ok(alias) => Ok(Rollout {
                            alias_revision_id: alias.revision_id,
                            ..next
                        }),
                        // Its answer lost: our own write, if the alias now carries it.
                        Err(AliasError::Conflict) => {
                            let alias = driver
                                .read_alias(&from.spec.function_name, &from.spec.alias)
                                .await?;
                            match engine::reconcile(&from, plan, &alias) {
                                AliasCheck::Replayed(m)
                                    if m.step_index == next.step_index
                                        && m.status == next.status =>
                                {
                                    Ok(Rollout {
                                        alias_revision_id: alias.revision_id,
                                        ..next
                                    })
                                }
                                _ => Err(AliasError::Conflict),
                            }
                        }
                        Err(e) => Err(e),
                    }
                }
            }))
            .await;
            // Every catch-up that landed is recorded before any rollback starts from it.
            let mut failed = None;
            for (&i, caught) in behind.iter().zip(caught) {
                match caught {
                    Ok(r) => results[i] = r,
                    Err(e) => {
                        failed.get_or_insert((i, e));
                    }
                }
            }
            if let Some((i, e)) = failed {
                let reason = format!(
                    "members[{i}] {}: could not be brought to step {} with the others ({e})",
                    set.label(i),
                    target.step_index
                );
                return self
                    .put_back(results, reason, i, Status::RolledBack, alarms)
                    .await;
            }
        }
        let mut next = set.clone();
        for (i, r) in results.iter().enumerate() {
            next.absorb(i, r);
        }
        follow(&mut next, &results);
        let moved = next.step_index != set.step_index || next.status != set.status;
        if let (true, Some(begun)) = (moved, begun) {
            hold_from_last_write(&mut next, begun);
        }
        let kind = match (moved, next.status) {
            (false, _) => return SetStepped::quiet(next),
            (true, Status::Succeeded) => EventKind::Succeeded,
            (true, _) => EventKind::Shifted,
        };
        let warning = sd.notify(kind, &next, 0, alarms, now).await;
        SetStepped { set: next, warning }
    }
}

/// The set's progress from its members' (in lockstep): the lead's step, status and operator
/// word; the latest of their next steps (a hold covers every member) and the soonest check.
fn follow(set: &mut SetRollout, rollouts: &[Rollout]) {
    let lead = &rollouts[0];
    set.follow(lead);
    // An operator's promote, taken from the lead, ends the hold of every member.
    if !lead
        .control
        .is_some_and(rollout_core::state::Control::is_promote)
    {
        set.next_step_at = rollouts.iter().filter_map(|r| r.next_step_at).max();
        set.wait_seconds = rollouts.iter().map(|r| r.wait_seconds).min().unwrap_or(0);
    }
}

/// A step's hold starts when the last member's write has landed.
fn hold_from_last_write(set: &mut SetRollout, begun: Instant) {
    let took = chrono::Duration::from_std(begun.elapsed()).unwrap_or_default();
    if set.status == Status::InProgress {
        set.next_step_at = set.next_step_at.map(|at| at + took);
    }
}

impl At<'_, '_> {
    /// Every member back on its current version, at once, each with a rollback's patience (one
    /// throttled member holds up none of the others); a member that ended on its own (someone
    /// else's change) is left as it is. Then one event: rolled back or aborted for `cause`, or
    /// failed naming every member still split.
    async fn put_back(
        &self,
        latest: Vec<Rollout>,
        reason: String,
        focus: usize,
        cause: Status,
        alarms: Vec<AlarmVerdict>,
    ) -> SetStepped {
        let At {
            sd,
            set,
            plan,
            crew,
            now,
        } = *self;
        sd.home.rolling_back.set(Some(reason.clone()));
        let ends = join_all(latest.iter().enumerate().map(|(i, r)| {
            let reason = reason.clone();
            async move {
                if r.status.is_terminal() && r.status != Status::Succeeded {
                    return None;
                }
                let driver = &crew.drivers[i];
                let back = r.after(&Decision::RollBack { reason }, plan, now);
                let mut end = driver.write_rollback(r, plan, &back).await;
                // The member's own later write landed unseen (its promote, before a driver
                // died): still this set's, it goes back too, from where it is.
                for _ in 0..3 {
                    let RollbackEnd::Foreign(found) = &end else {
                        break;
                    };
                    let (AliasCheck::Replayed(m), alias) = &**found else {
                        break;
                    };
                    if m.status != Status::Succeeded && m.status != Status::InProgress {
                        break;
                    }
                    let ahead = r.replayed(m, plan, alias, now);
                    end = driver.write_rollback(&ahead, plan, &back).await;
                }
                Some(end)
            }
        }))
        .await;
        sd.home.rolling_back.set(None);
        let mut next = set.clone();
        for (i, r) in latest.iter().enumerate() {
            next.absorb(i, r);
        }
        let mut split = Vec::new();
        // The furthest step any member reached names the event (as alarm-rollback names it
        // from the members' markers): one rollback, one eventId.
        let mut step = latest
            .iter()
            .map(|r| r.step_index)
            .max()
            .unwrap_or(set.step_index);
        for end in ends.iter().flatten() {
            if let RollbackEnd::Foreign(found) = end {
                if let Some(m) = found.1.marker().filter(|m| m.rollout_id == set.rollout_id) {
                    step = step.max(m.step_index);
                }
            }
        }
        next.step_index = next.step_index.max(step);
        for (i, end) in ends.into_iter().enumerate() {
            let m = &mut next.members[i];
            match end {
                None => {
                    m.status = Some(latest[i].status);
                    m.reason = latest[i].reason.clone();
                    if latest[i].status == Status::RolledBack {
                        m.weight = 0.0;
                    }
                }
                Some(RollbackEnd::Written { revision }) => {
                    m.alias_revision_id = revision;
                    m.weight = 0.0;
                }
                Some(RollbackEnd::Foreign(found)) => {
                    let (check, alias) = *found;
                    m.alias_revision_id = alias.revision_id.clone();
                    match check {
                        AliasCheck::ChangedByOthers(why) => {
                            m.status = Some(Status::Aborted);
                            m.reason = Some(why);
                        }
                        _ => m.weight = 0.0,
                    }
                }
                Some(RollbackEnd::GaveUp { error }) => {
                    m.status = Some(Status::Failed);
                    m.reason = Some(format!("could not be put back: {error}"));
                    split.push(i);
                }
            }
        }
        next.weight = 0.0;
        let kind = if split.is_empty() {
            next.end(cause, reason);
            match cause {
                Status::Aborted => EventKind::Aborted,
                _ => EventKind::RolledBack,
            }
        } else {
            let why = still_split(&next, &split, &reason);
            next.end(Status::Failed, why);
            EventKind::Failed
        };
        let warning = sd.notify(kind, &next, focus, alarms, now).await;
        SetStepped { set: next, warning }
    }
}

/// Why a set ended `Failed` with members `split` still split: each named with where its
/// traffic is, why it was being put back, and the command that finishes the job.
pub(super) fn still_split(set: &SetRollout, split: &[usize], reason: &str) -> String {
    let first = &set.members[split[0]].spec;
    let names: Vec<String> = split
        .iter()
        .map(|i| {
            let m = &set.members[*i];
            format!(
                "{} ({} on version {}, the rest on {})",
                m.spec.label(),
                rollout_core::plan::format_percent(m.weight),
                m.spec.target_version,
                m.spec.current_version.as_deref().unwrap_or("?")
            )
        })
        .collect();
    format!(
        "could not put back every member; still split: {}. Why it was rolling back: {reason}. Run `rollout abort --function {} --alias {}` once AWS answers",
        names.join(", "),
        first.function_name,
        first.alias
    )
}
