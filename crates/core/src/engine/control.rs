//! An operator's pause, resume and promote: what the alias's marker becomes, or why the
//! request is refused. Only the marker changes (the same versions and routing), so every
//! driver adopts it instead of taking it for someone else's change ([`super::reconcile`]).

use crate::alias::{describe_alias, AliasState, AliasUpdate};
use crate::marker::Marker;
use crate::notification::EventKind;
use crate::state::{Control, Status};

/// What an operator asks of a rollout in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Pause,
    Resume,
    /// End the current hold now; `full`: straight to 100 % (the bake time still applies).
    Promote {
        full: bool,
    },
}

impl Operator {
    /// The word for people: `pause`, `resume`, `promote`.
    pub fn verb(self) -> &'static str {
        match self {
            Operator::Pause => "pause",
            Operator::Resume => "resume",
            Operator::Promote { .. } => "promote",
        }
    }

    /// What the marker records once the request is written.
    pub fn control(self) -> Control {
        match self {
            Operator::Pause => Control::Paused,
            Operator::Resume => Control::Resumed,
            Operator::Promote { full: false } => Control::Promoted,
            Operator::Promote { full: true } => Control::PromotedFull,
        }
    }

    /// The notification the request is told with.
    pub fn event(self) -> EventKind {
        match self {
            Operator::Pause => EventKind::Paused,
            Operator::Resume => EventKind::Resumed,
            Operator::Promote { .. } => EventKind::Promoted,
        }
    }
}

/// Why a request is refused; nothing on AWS is touched.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ControlRefused(pub String);

/// What an operator's request comes to on the alias as it is.
#[derive(Debug, Clone, PartialEq)]
pub enum ControlWrite {
    /// Write this update, which records the request as this marker.
    Write(Marker, AliasUpdate),
    /// The alias already records this very request (the same word, by the same, for the same
    /// reason): a retry of a request that landed, whose alert may be owed. Nothing is written;
    /// its alert goes out again under its own eventId.
    AlreadyRecorded(Marker),
}

/// The alias write that records `op` (by `by`, because of `why`, as request `id`) on the
/// rollout the alias carries; refused, with the reason, when there is no rollout of ours in
/// progress that the alias still matches, or when the request would change nothing (pausing
/// twice, resuming what is not paused, promoting twice or at 100 %) — unless the alias
/// records this same request already ([`ControlWrite::AlreadyRecorded`]). A promote also
/// lifts a pause.
pub fn control(
    alias: &AliasState,
    op: Operator,
    by: &str,
    why: &str,
    id: &str,
) -> Result<ControlWrite, ControlRefused> {
    let verb = op.verb();
    let refuse = |why: String| Err(ControlRefused(why));
    let Some(marker) = alias.marker() else {
        return refuse(format!(
            "the alias carries no lambda-rollout rollout (it is on {}); nothing to {verb}",
            describe_alias(alias)
        ));
    };
    let rollout_id = &marker.rollout_id;
    if !marker.describes(alias) {
        return refuse(format!(
            "the alias no longer matches rollout {rollout_id} (moved by hand? it is on {}); nothing to {verb}",
            describe_alias(alias)
        ));
    }
    if marker.status != Status::InProgress {
        return refuse(format!(
            "rollout {rollout_id} has already ended ({}); nothing to {verb}",
            marker.status.as_str()
        ));
    }
    let marked = Marker {
        control: Some(op.control()),
        control_id: Some(id.to_string()),
        by: Some(by.to_string()),
        why: Some(why.to_string()),
        ..marker.clone()
    };
    // `by=` and `why=` as the description would hold them (cut to fit), to compare.
    let recorded = Marker::parse(&marked.render());
    let same_request = marker.control == Some(op.control())
        && marker.control_id.is_some()
        && recorded
            .as_ref()
            .is_some_and(|r| r.by == marker.by && r.why == marker.why);
    if same_request {
        return Ok(ControlWrite::AlreadyRecorded(marker));
    }
    let paused = marker.control == Some(Control::Paused);
    let id = rollout_id;
    match (op, marker.control) {
        (Operator::Pause, Some(Control::Paused)) => {
            return refuse(format!(
                "rollout {id} is already paused{}; nothing changed",
                said_by(&marker)
            ))
        }
        (Operator::Resume, _) if !paused => {
            return refuse(format!("rollout {id} is not paused; nothing changed"))
        }
        (Operator::Promote { .. }, _) if alias.is_settled_on(&marker.to_version) => {
            return refuse(format!(
                "rollout {id} is already at 100 % on version {}: a promote does not skip the bake time (abort, or let it finish); nothing changed",
                marker.to_version
            ))
        }
        (Operator::Promote { full }, Some(Control::PromotedFull))
        | (Operator::Promote { full: full @ false }, Some(Control::Promoted)) => {
            return refuse(format!(
                "rollout {id} is already promoted{}{}; its driver takes it on its next check; nothing changed",
                if full { " to 100 %" } else { "" },
                said_by(&marker)
            ))
        }
        _ => {}
    }
    let update = AliasUpdate {
        version: alias.version.clone(),
        routing: alias.routing.clone(),
        description: marked.render(),
    };
    Ok(ControlWrite::Write(marked, update))
}

/// True when `alias` carries operator request `id` on a marker that still describes it: the
/// request's write landed (its answer may have been lost), whether or not a driver has taken
/// it and moved on since (a driver's writes keep `opid=`).
pub fn records(alias: &AliasState, id: &str) -> Option<Marker> {
    alias
        .marker()
        .filter(|m| m.control_id.as_deref() == Some(id) && m.describes(alias))
}

/// ` (by rollout-cli: investigating)`, when the marker names who and why.
fn said_by(marker: &Marker) -> String {
    match (&marker.by, &marker.why) {
        (Some(by), Some(why)) => format!(" (by {by}: {why})"),
        (Some(by), None) => format!(" (by {by})"),
        _ => String::new(),
    }
}
