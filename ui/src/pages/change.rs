//! Changes of an issued permit (作业变更): the applicant asks for one — why, a new planned
//! window, precautions added, workers on or off — and it goes back through the approval chain.
//! The permit shows the change waiting, old value beside new, with its signatures and, for the
//! person whose signature it waits for, approve and refuse; and every change decided before.
//!
//! The back end judges every part again (the changed permit as a whole, within its grade's
//! validity cap); the form here only saves taps.

use super::actions::ActionCtx;
use crate::datetime::DateTimeField;
use crate::i18n::*;
use crate::messages::{self, fill, Names};
use crate::widgets::{with_names, Choice, Icon};
use leptos::prelude::*;
use ptw_core::api::{Action, PermitView};
use ptw_core::derive::{ChangeOutcome, ChangeState};
use ptw_core::offers::ActionKind;
use ptw_core::{ChangeReason, PermitChange, PersonId};

const REASONS: [ChangeReason; 4] =
    [ChangeReason::Weather, ChangeReason::EquipmentFault, ChangeReason::ScopeChange, ChangeReason::Other];

fn reason_code(reason: ChangeReason) -> &'static str {
    match reason {
        ChangeReason::Weather => "weather",
        ChangeReason::EquipmentFault => "equipment_fault",
        ChangeReason::ScopeChange => "scope_change",
        ChangeReason::Other => "other",
    }
}

/// The request: collapsed until opened, prefilled with the permit as it stands.
#[component]
pub fn ChangeRequestForm(permit: PermitView, ctx: ActionCtx) -> impl IntoView {
    let i18n = use_i18n();
    let form = permit.state.form.clone();
    let reason = RwSignal::new(None::<ChangeReason>);
    let explanation = RwSignal::new(String::new());
    let start = RwSignal::new(form.planned_start);
    let end = RwSignal::new(form.planned_end);
    let added = RwSignal::new(Vec::<String>::new());
    let crew = RwSignal::new(form.crew.clone());
    let (dir_people, precautions) = ctx
        .app
        .directory
        .with_untracked(|d| {
            d.as_ref().map(|d| {
                let people: Vec<(PersonId, String, String)> =
                    d.people.iter().map(|p| (p.id, p.name.clone(), p.title.clone())).collect();
                let items: Vec<(String, ptw_core::catalog::LocalText)> = d
                    .catalog
                    .permit_type(&form.permit_type)
                    .map(|t| {
                        t.precautions
                            .iter()
                            .filter(|p| p.applies_to(&form.grade) && !form.precautions.contains(&p.code))
                            .map(|p| (p.code.clone(), p.text.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                (people, items)
            })
        })
        .unwrap_or_default();
    // The guardian and the applicant are never on the crew.
    let off_limits = [form.applicant, permit.state.guardian()];
    let reason_buttons = REASONS
        .into_iter()
        .map(|r| {
            view! {
                <Choice
                    chosen=Signal::derive(move || reason.get() == Some(r))
                    testid=format!("change-reason-{}", reason_code(r))
                    on_pick=Callback::new(move |()| reason.set(Some(r)))
                >
                    {move || messages::change_reason_text(i18n.get_locale(), r)}
                </Choice>
            }
        })
        .collect_view();
    let precaution_rows = precautions
        .into_iter()
        .map(|(code, text)| {
            let (c1, c2) = (code.clone(), code.clone());
            view! {
                <label class="check-row">
                    <input
                        type="checkbox"
                        data-testid=format!("change-precaution-{code}")
                        prop:checked=move || added.with(|a| a.contains(&c1))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            added.update(|a| {
                                a.retain(|x| x != &c2);
                                if on {
                                    a.push(c2.clone());
                                }
                            })
                        }
                    />
                    <span>{move || text.get(i18n.get_locale().as_str()).to_owned()}</span>
                </label>
            }
        })
        .collect_view();
    let crew_rows = dir_people
        .into_iter()
        .filter(|(id, ..)| !off_limits.contains(&Some(*id)))
        .map(|(id, name, title)| {
            view! {
                <label class="check-row">
                    <input
                        type="checkbox"
                        data-testid=format!("change-crew-{name}")
                        prop:checked=move || crew.with(|c| c.contains(&id))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            crew.update(|c| {
                                c.retain(|x| *x != id);
                                if on {
                                    c.push(id);
                                }
                            })
                        }
                    />
                    <span><strong>{name}</strong> <small>{title}</small></span>
                </label>
            }
        })
        .collect_view();
    let before = form.clone();
    let send = move |_| {
        let Some(why) = reason.get_untracked() else { return };
        let now_crew = crew.get_untracked();
        let change = PermitChange {
            reason: why,
            explanation: explanation.get_untracked(),
            planned_start: start.get_untracked().filter(|s| Some(*s) != before.planned_start),
            planned_end: end.get_untracked().filter(|e| Some(*e) != before.planned_end),
            add_precautions: added.get_untracked(),
            crew_add: now_crew.iter().filter(|p| !before.crew.contains(p)).copied().collect(),
            crew_remove: before.crew.iter().filter(|p| !now_crew.contains(p)).copied().collect(),
        };
        ctx.run(Action::RequestChange { change }, move || {
            reason.set(None);
            explanation.set(String::new());
            added.set(Vec::new());
        });
    };
    view! {
        <details class="action-group change-request" data-testid="change-form">
            <summary>{t!(i18n, change.request_title)}</summary>
            <p class="hint">{t!(i18n, change.request_hint)}</p>
            <div class="field">
                <span class="label">{t!(i18n, change.reason)}</span>
                <div class="choices" role="radiogroup">{reason_buttons}</div>
            </div>
            <label class="field">
                <span class="label">{t!(i18n, change.explanation)}</span>
                <textarea
                    rows="2"
                    data-testid="change-explanation"
                    prop:value=move || explanation.get()
                    on:input=move |ev| explanation.set(event_target_value(&ev))
                ></textarea>
            </label>
            <div class="field">
                <span class="label" id="label-change-start">{t!(i18n, form.planned_start)}</span>
                <DateTimeField
                    value=Signal::derive(move || start.get())
                    on_change=Callback::new(move |at| start.set(at))
                    testid="change-planned-start"
                    label_id="label-change-start"
                    heading=Signal::derive(move || t_string!(i18n, form.planned_start).to_owned())
                />
            </div>
            <div class="field">
                <span class="label" id="label-change-end">{t!(i18n, form.planned_end)}</span>
                <DateTimeField
                    value=Signal::derive(move || end.get())
                    on_change=Callback::new(move |at| end.set(at))
                    testid="change-planned-end"
                    label_id="label-change-end"
                    heading=Signal::derive(move || t_string!(i18n, form.planned_end).to_owned())
                    base=Signal::derive(move || start.get())
                />
            </div>
            <div class="field">
                <span class="label">{t!(i18n, change.add_precautions)}</span>
                <div class="checks">{precaution_rows}</div>
            </div>
            <div class="field">
                <span class="label">{t!(i18n, form.crew)}</span>
                <div class="checks people-checks">{crew_rows}</div>
            </div>
            <button
                class="secondary big wide"
                data-testid="action-change-request"
                disabled=move || ctx.busy.get() || reason.get().is_none()
                on:click=send
            >
                <Icon name="file-pen"/>
                {t!(i18n, change.send)}
            </button>
        </details>
    }
}

/// What a change changes, a line each: "计划结束时间：12-01 12:00 → 12-01 13:00".
fn change_lines(n: &Names, c: &ChangeState) -> Vec<String> {
    let l = n.locale;
    let mut out = Vec::new();
    let mut line = |what: &str, old: String, new: String| {
        out.push(fill(td_string!(l, change.line), &[("what", &what), ("old", &old), ("new", &new)]))
    };
    let (b, a) = (&c.before, &c.after);
    if b.planned_start != a.planned_start {
        line(td_string!(l, form.planned_start), crate::time::show(b.planned_start), crate::time::show(a.planned_start));
    }
    if b.planned_end != a.planned_end {
        line(td_string!(l, form.planned_end), crate::time::show(b.planned_end), crate::time::show(a.planned_end));
    }
    let added: Vec<String> =
        a.precautions.iter().filter(|p| !b.precautions.contains(p)).map(|p| n.precaution(p)).collect();
    if !added.is_empty() {
        out.push(fill(td_string!(l, change.precautions_added), &[("items", &n.join(added.into_iter()))]));
    }
    let on: Vec<PersonId> = a.crew.iter().filter(|p| !b.crew.contains(p)).copied().collect();
    if !on.is_empty() {
        out.push(fill(td_string!(l, change.crew_added), &[("people", &n.people(&on))]));
    }
    let off: Vec<PersonId> = b.crew.iter().filter(|p| !a.crew.contains(p)).copied().collect();
    if !off.is_empty() {
        out.push(fill(td_string!(l, change.crew_removed), &[("people", &n.people(&off))]));
    }
    out
}

/// The permit's changes: the one waiting, with approve / refuse for its signer, and those
/// decided. Nothing when there are none.
#[component]
pub fn ChangesCard(permit: PermitView, ctx: ActionCtx) -> impl IntoView {
    let i18n = use_i18n();
    if permit.state.changes.is_empty() {
        return ().into_any();
    }
    let may_sign = permit.offers.iter().any(|o| o.action == ActionKind::ApproveChange && o.mine);
    let (t, g) = (permit.form.permit_type.clone(), permit.form.grade.clone());
    let cards = permit
        .state
        .changes
        .iter()
        .rev()
        .map(|c| {
            let pending = c.outcome == ChangeOutcome::Pending;
            let (t, g) = (t.clone(), g.clone());
            let c2 = c.clone();
            let text = move || {
                with_names(i18n.get_locale(), Some((&t, &g)), |n| {
                    let l = n.locale;
                    let head = fill(
                        td_string!(l, change.asked),
                        &[
                            ("who", &n.person(c2.requested_by)),
                            ("at", &crate::time::show_ms(c2.at_ms)),
                            ("reason", &messages::change_reason_text(l, c2.change.reason)),
                        ],
                    );
                    let outcome = match &c2.outcome {
                        ChangeOutcome::Pending => {
                            let step = c2.current_step.as_deref().and_then(|id| c2.steps.iter().find(|s| s.id == id));
                            let waiting = step.map(|s| s.name.get(n.lang()).to_owned()).unwrap_or_default();
                            fill(td_string!(l, change.pending), &[("step", &waiting)])
                        }
                        ChangeOutcome::Approved { at_ms } => {
                            fill(td_string!(l, change.approved), &[("at", &crate::time::show_ms(*at_ms))])
                        }
                        ChangeOutcome::Rejected { at_ms, by, comment } => fill(
                            td_string!(l, change.rejected),
                            &[("who", &n.person(*by)), ("at", &crate::time::show_ms(*at_ms)), ("comment", comment)],
                        ),
                    };
                    (head, c2.change.explanation.clone(), change_lines(n, &c2), outcome)
                })
                .unwrap_or_default()
            };
            let comment = RwSignal::new(String::new());
            let pad = super::signature::Pad::new();
            let buttons = (pending && may_sign).then(|| {
                view! {
                    <label class="field">
                        <span class="label">{t!(i18n, actions.approval_comment)}</span>
                        <input
                            type="text"
                            data-testid="change-comment"
                            prop:value=move || comment.get()
                            on:input=move |ev| comment.set(event_target_value(&ev))
                        />
                    </label>
                    <super::signature::SignaturePad pad=pad/>
                    <div class="action-bar" data-testid="action-bar">
                        <button
                            class="primary big"
                            data-testid="action-approve-change"
                            disabled=move || ctx.busy.get()
                            on:click=move |_| pad.sign(ctx, Action::ApproveChange { comment: comment.get_untracked() }, || ())
                        >
                            <Icon name="check"/>
                            {t!(i18n, change.approve)}
                        </button>
                        <button
                            class="danger big"
                            data-testid="action-reject-change"
                            disabled=move || ctx.busy.get()
                            on:click=move |_| pad.sign(ctx, Action::RejectChange { comment: comment.get_untracked() }, || ())
                        >
                            <Icon name="x"/>
                            {t!(i18n, change.reject)}
                        </button>
                    </div>
                }
            });
            view! {
                <article class=if pending { "change-item waiting" } else { "change-item" } data-testid="change">
                    {move || {
                        let (head, explanation, lines, outcome) = text();
                        view! {
                            <p class="change-head"><strong>{head}</strong></p>
                            <p class="pre">{explanation}</p>
                            <ul class="change-lines" data-testid="change-lines">
                                {lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}
                            </ul>
                            <p class="change-outcome" data-testid="change-outcome">{outcome}</p>
                        }
                    }}
                    {buttons}
                </article>
            }
        })
        .collect_view();
    view! {
        <section class="card changes" data-testid="changes">
            <h3>{t!(i18n, change.title)}</h3>
            {cards}
        </section>
    }
    .into_any()
}
