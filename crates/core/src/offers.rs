//! What a person may do to a permit now, and — for what only others may do — who they are:
//! the action panel offers exactly what the rules would accept from the signed-in person, and
//! says who is waited for ("等待 车间主任 刘洋 审批"), and the list shows whose turn it is.
//!
//! The answers come from the very checks derivation applies to an event ([`PermitState`]'s
//! status, actor and signer rules), run for each person, so the panel and the rules cannot
//! disagree. What only the moment of acting can tell — a gas reading, the clock against the
//! planned window, the form's content at submit — is still judged when the person acts.

use crate::catalog::{Phase, Role};
use crate::derive::PermitState;
use crate::form::PermitForm;
use crate::ids::PersonId;
use crate::registry::{Person, Registry};
use crate::rules::Violation;
use crate::Status;
use serde::{Deserialize, Serialize};

/// An action of the permit's life, as offered to people.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Change the draft (the applicant).
    Edit,
    Submit,
    Approve,
    Reject,
    GasTest,
    Start,
    Suspend,
    Resume,
    Complete,
    Accept,
    Cancel,
    /// Log someone or something into or out of the space (the entrant roster).
    Entry,
    /// Hand the guardian's watch over to another guardian (交班), and take it over (接班).
    Handover,
    TakeOver,
    /// Sign the fire watch off after hot work (监火结束).
    FireWatchEnd,
    /// Ask for a change of the issued permit (作业变更), and sign or refuse the change.
    RequestChange,
    ApproveChange,
    RejectChange,
}

impl ActionKind {
    pub fn code(self) -> &'static str {
        match self {
            ActionKind::Edit => "edit",
            ActionKind::Submit => "submit",
            ActionKind::Approve => "approve",
            ActionKind::Reject => "reject",
            ActionKind::GasTest => "gas_test",
            ActionKind::Start => "start",
            ActionKind::Suspend => "suspend",
            ActionKind::Resume => "resume",
            ActionKind::Complete => "complete",
            ActionKind::Accept => "accept",
            ActionKind::Cancel => "cancel",
            ActionKind::Entry => "entry",
            ActionKind::Handover => "handover",
            ActionKind::TakeOver => "take_over",
            ActionKind::FireWatchEnd => "fire_watch_end",
            ActionKind::RequestChange => "change_request",
            ActionKind::ApproveChange => "approve_change",
            ActionKind::RejectChange => "reject_change",
        }
    }

    /// The actions the permit's status leaves open, to anyone.
    pub fn open_in(status: Status) -> &'static [ActionKind] {
        use ActionKind::*;
        match status {
            Status::Draft => &[Edit, Submit, Cancel],
            Status::InApproval => &[Approve, Reject, GasTest, Cancel],
            Status::Approved => {
                &[Start, GasTest, Handover, TakeOver, RequestChange, ApproveChange, RejectChange, Cancel]
            }
            Status::Active => &[
                Complete,
                Suspend,
                GasTest,
                Entry,
                Handover,
                TakeOver,
                RequestChange,
                ApproveChange,
                RejectChange,
                Cancel,
            ],
            Status::Suspended => {
                &[Resume, GasTest, Entry, Handover, TakeOver, RequestChange, ApproveChange, RejectChange, Cancel]
            }
            Status::Completed => &[FireWatchEnd, Accept],
            Status::Closed | Status::Rejected | Status::Cancelled => &[],
        }
    }

    /// Actions that move the permit on (the rest — gas tests, cancel, reject — are on the side).
    pub fn moves_on(self) -> bool {
        matches!(
            self,
            ActionKind::Submit
                | ActionKind::Approve
                | ActionKind::Start
                | ActionKind::Resume
                | ActionKind::Complete
                | ActionKind::Accept
        )
    }
}

/// One action open in the permit's status, for one person.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    pub action: ActionKind,
    /// The person may take it.
    pub mine: bool,
    /// Why not, when not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Violation>,
    /// Who may, in the registry's order (at most [`MAX_NAMED`]).
    pub who: Vec<PersonId>,
    /// How many may, in all.
    pub who_count: u32,
    /// For a step's signature: the role it needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// Whose turn it is on a permit: the actions that move it on, and who may take them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub action: Option<ActionKind>,
    pub who: Vec<PersonId>,
    pub who_count: u32,
    pub role: Option<Role>,
}

/// People named in an offer at most; the rest are counted.
pub const MAX_NAMED: usize = 5;

/// Whether `person` may take `action` on a permit in `state` with draft `draft`, by the rules
/// derivation applies.
pub fn may(
    state: &PermitState,
    draft: &PermitForm,
    registry: &Registry,
    person: &Person,
    action: ActionKind,
) -> Result<(), Violation> {
    if !ActionKind::open_in(state.status).contains(&action) {
        return Err(Violation::NotAllowedInStatus { action: action.code().to_string(), status: state.status });
    }
    if person.frozen_since_ms.is_some() {
        return Err(Violation::FrozenAccount { person: person.id });
    }
    if person.retired_ms.is_some() {
        return Err(Violation::RetiredPerson { person: person.id });
    }
    let form = if state.status == Status::Draft { draft } else { &state.form };
    let grade = form.definition(&registry.catalog).map(|(_, g)| g);
    let rules = |pick: fn(&crate::catalog::ActionRules) -> &Vec<crate::catalog::ActorRule>| {
        let grade = grade.ok_or(Violation::UnknownPermitType)?;
        let rules = pick(&grade.actions);
        if state.allows(rules, person) {
            Ok(())
        } else {
            Err(Violation::NotPermitActor { action: action.code().to_string(), allowed: rules.clone() })
        }
    };
    match action {
        ActionKind::Edit | ActionKind::Submit => {
            if form.applicant == Some(person.id) {
                Ok(())
            } else {
                Err(Violation::NotApplicant)
            }
        }
        ActionKind::Approve | ActionKind::Reject => state.may_sign(Phase::Approval, person).map(|_| ()),
        ActionKind::Accept => match state.fire_watch.as_ref().filter(|w| w.signed_off.is_none()) {
            Some(w) => Err(Violation::FireWatchNotSignedOff { until_ms: w.until_ms }),
            None => state.may_sign(Phase::Acceptance, person).map(|_| ()),
        },
        ActionKind::RequestChange => {
            let grade = grade.ok_or(Violation::UnknownPermitType)?;
            if grade.changes.is_none() {
                Err(Violation::ChangesNotAllowed)
            } else if state.pending_change().is_some() {
                Err(Violation::ChangePending)
            } else {
                rules(|a| &a.change)
            }
        }
        ActionKind::ApproveChange | ActionKind::RejectChange => state.may_sign_change(person),
        ActionKind::FireWatchEnd => match state.fire_watch.as_ref().filter(|w| w.signed_off.is_none()) {
            Some(_) => rules(|a| &a.fire_watch),
            None => Err(Violation::NoFireWatch),
        },
        ActionKind::GasTest => rules(|a| &a.gas_test),
        ActionKind::Start => rules(|a| &a.start),
        ActionKind::Suspend => rules(|a| &a.suspend),
        ActionKind::Resume => {
            let grade = grade.ok_or(Violation::UnknownPermitType)?;
            let allowed = state.resume_rules(&grade.actions);
            if state.allows(allowed, person) {
                Ok(())
            } else {
                Err(Violation::NotPermitActor { action: action.code().to_string(), allowed: allowed.to_vec() })
            }
        }
        ActionKind::Complete => rules(|a| &a.complete),
        ActionKind::Cancel => rules(|a| &a.cancel),
        ActionKind::Handover if state.guardian() == Some(person.id) => Ok(()),
        ActionKind::Handover => Err(Violation::NotPermitGuardian),
        ActionKind::TakeOver => match &state.handover {
            None => Err(Violation::NoHandoverPending),
            Some(h) if h.to != person.id => Err(Violation::NotHandoverTarget { to: h.to }),
            Some(_) => Ok(()),
        },
        ActionKind::Entry => match form.definition(&registry.catalog) {
            Some((t, _)) if t.entrant_roster.is_none() => Err(Violation::NoEntrantRoster),
            _ => rules(|a| &a.roster),
        },
    }
}

/// Every action open in the permit's status, for `person`: theirs or not, why not, and who may.
pub fn offers(state: &PermitState, draft: &PermitForm, registry: &Registry, person: PersonId) -> Vec<Offer> {
    ActionKind::open_in(state.status)
        .iter()
        .map(|&action| {
            let refusal = match registry.person(person) {
                Some(p) => may(state, draft, registry, p, action).err(),
                None => Some(Violation::UnknownPerson { person }),
            };
            let (who, who_count) = who_may(state, draft, registry, action);
            Offer { action, mine: refusal.is_none(), refusal, who, who_count, role: step_role(state, action) }
        })
        .collect()
}

/// Whose turn it is: the first action that moves the permit on, and who may take it.
pub fn turn(state: &PermitState, draft: &PermitForm, registry: &Registry) -> Turn {
    let Some(action) = turn_action(state) else {
        return Turn::default();
    };
    let (who, who_count) = who_may(state, draft, registry, action);
    Turn { action: Some(action), who, who_count, role: step_role(state, action) }
}

/// Everyone who may take the action whose turn it is (not cut at [`MAX_NAMED`]).
pub fn everyone_whose_turn(state: &PermitState, draft: &PermitForm, registry: &Registry) -> Vec<PersonId> {
    let Some(action) = turn_action(state) else { return Vec::new() };
    registry.people.iter().filter(|p| may(state, draft, registry, p, action).is_ok()).map(|p| p.id).collect()
}

/// The action that moves the permit on; while a handover waits, taking it over comes first,
/// then signing a change that waits, and while a fire watch waits, signing it off.
fn turn_action(state: &PermitState) -> Option<ActionKind> {
    if state.handover.is_some() && ActionKind::open_in(state.status).contains(&ActionKind::TakeOver) {
        return Some(ActionKind::TakeOver);
    }
    if state.pending_change().is_some() && ActionKind::open_in(state.status).contains(&ActionKind::ApproveChange) {
        return Some(ActionKind::ApproveChange);
    }
    if state.status == Status::Completed && state.fire_watch.as_ref().is_some_and(|w| w.signed_off.is_none()) {
        return Some(ActionKind::FireWatchEnd);
    }
    ActionKind::open_in(state.status).iter().copied().find(|a| a.moves_on())
}

fn who_may(state: &PermitState, draft: &PermitForm, registry: &Registry, action: ActionKind) -> (Vec<PersonId>, u32) {
    let mut who = Vec::new();
    let mut count = 0u32;
    for p in &registry.people {
        if may(state, draft, registry, p, action).is_ok() {
            count += 1;
            if who.len() < MAX_NAMED {
                who.push(p.id);
            }
        }
    }
    (who, count)
}

fn step_role(state: &PermitState, action: ActionKind) -> Option<Role> {
    match action {
        ActionKind::Approve | ActionKind::Reject | ActionKind::Accept => {
            state.current_step.as_deref().and_then(|id| state.step(id)).map(|s| s.role.clone())
        }
        ActionKind::ApproveChange | ActionKind::RejectChange => state.pending_change().and_then(|c| {
            let id = c.current_step.as_deref()?;
            c.steps.iter().find(|s| s.id == id).map(|s| s.role.clone())
        }),
        _ => None,
    }
}
