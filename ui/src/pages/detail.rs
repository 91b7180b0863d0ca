//! One permit: its form, the approval steps as a timeline, gas tests, alerts, the full event log
//! (rejected events in red with the rule they broke) and the actions its status allows.
//!
//! Everything shown is the back end's derivation (`PermitState`); the UI never decides a
//! status itself. Times are the events' corrected times (`Event::time_ms`), never their
//! ordering clocks; a gas test whose time was not checked against the server's clock says so,
//! since its age decides whether work may start.
//!
//! Each section folds (`<details>`, open at first), so a tablet held upright gets to what it
//! needs; there the action panel follows the header and its buttons for the current step sit
//! in a bar fixed to the bottom of the screen (main.css, `.action-bar`).

use super::actions::{ActionCtx, ActionPanel};
use crate::api;
use crate::i18n::*;
use crate::messages::{self, fill, Names};
use crate::state::{use_app, Page};
use crate::time;
use crate::widgets::{with_names, ErrorBanner, Icon, Loading, QrImage, StatusBadge, WorkTypeIcon};
use leptos::prelude::*;
use leptos::task::spawn_local;
use ptw_core::api::{CommandError, PermitView};
use ptw_core::catalog::SignMode;
use ptw_core::derive::{GasTestRecord, Outcome, StepState, TimelineEntry};
use ptw_core::event::{Entrant, EventKind, GasReading};
use ptw_core::PermitId;

#[component]
pub fn PermitDetail(id: PermitId) -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let ctx = ActionCtx {
        app,
        id,
        permit: RwSignal::new(None),
        error: RwSignal::new(None::<CommandError>),
        notice: RwSignal::new(None),
        busy: RwSignal::new(false),
    };
    // Read again when a sync brings other devices' events.
    let synced = Memo::new(move |_| app.sync.with(|s| s.as_ref().and_then(|s| s.last_sync_ms)));
    Effect::new(move |_| {
        synced.track();
        spawn_local(async move {
            match api::get_permit(id).await {
                Ok(v) => ctx.permit.set(Some(v)),
                Err(e) => ctx.error.set(Some(e)),
            }
        });
    });
    view! {
        <section class="permit-detail">
            <div class="page-head">
                <button class="secondary" data-testid="back-to-list" on:click=move |_| app.go(Page::List)>
                    <Icon name="arrow-left"/>
                    {t!(i18n, nav.back_to_list)}
                </button>
            </div>
            {move || match ctx.permit.get() {
                None => view! { <ErrorBanner error=ctx.error/> <Loading/> }.into_any(),
                Some(permit) => view! { <DetailBody permit=permit ctx=ctx/> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn DetailBody(permit: PermitView, ctx: ActionCtx) -> impl IntoView {
    view! {
        <div class="detail-grid">
            <div class="detail-main">
                <Rejection permit=permit.clone() ctx=ctx/>
                <Header permit=permit.clone()/>
                <Alerts permit=permit.clone()/>
                <super::change::ChangesCard permit=permit.clone() ctx=ctx/>
                <Inside permit=permit.clone()/>
                <Steps permit=permit.clone()/>
                <GasTests permit=permit.clone()/>
                <EventLog permit=permit.clone()/>
            </div>
            <aside class="detail-side">
                <ActionPanel permit=permit ctx=ctx/>
            </aside>
        </div>
    }
}

/// At the top of a rejected permit: who rejected it and why, and — for its applicant —
/// "revise and resubmit"; the revisions made since, and on a revision the permit it revises.
#[component]
fn Rejection(permit: PermitView, ctx: ActionCtx) -> impl IntoView {
    let i18n = use_i18n();
    let app = ctx.app;
    let link = move |link: ptw_core::api::PermitLink, testid: &'static str, revises: bool| {
        let number = link.number.clone();
        let text = move || {
            if revises {
                fill(t_string!(i18n, detail.revises), &[("number", &number)])
            } else {
                fill(t_string!(i18n, detail.revised_as), &[("number", &number)])
            }
        };
        view! {
            <button class="secondary link-button" data-testid=testid on:click=move |_| app.go(Page::Detail(link.id))>
                {text}
            </button>
        }
    };
    let revises = permit.links.revises.clone().map(|l| link(l, "revises-link", true));
    let revised = permit.links.revised_by.clone().into_iter().map(|l| link(l, "revised-link", false)).collect_view();
    if matches!(permit.state.status, ptw_core::Status::Closed | ptw_core::Status::Cancelled) {
        return view! { {revises} <CopyAsTemplate ctx=ctx/> }.into_any();
    }
    if permit.state.status != ptw_core::Status::Rejected {
        return view! { {revises} }.into_any();
    }
    let rejection = permit.state.timeline.iter().rev().find_map(|t| match (&t.event, &t.outcome) {
        (Some(ev), Outcome::Applied) => match &ev.kind {
            EventKind::Reject { comment, .. } => Some((ev.actor, comment.clone())),
            _ => None,
        },
        _ => None,
    });
    let reason = names_for(&permit, move |n| {
        rejection.as_ref().map(|(who, reason)| {
            fill(t_string!(i18n, detail.rejected_by), &[("who", &n.person(*who)), ("reason", reason)])
        })
    });
    let applicant = permit.form.applicant;
    let mine = move || app.session.with(|s| s.as_ref().map(|s| s.person.id)) == applicant && applicant.is_some();
    let revise = move |_| open_new_draft(ctx, api::revise_permit(ctx.id));
    view! {
        <section class="card rejection" role="alert" data-testid="rejection">
            <h3>{t!(i18n, detail.rejected_title)}</h3>
            <p class="reason" data-testid="rejection-reason">{reason}</p>
            {revised}
            {move || mine().then(|| view! {
                <p class="hint">{t!(i18n, detail.revise_hint)}</p>
                <button class="primary big wide" data-testid="action-revise" disabled=move || ctx.busy.get() on:click=revise>
                    <Icon name="file-pen"/>
                    {t!(i18n, detail.revise)}
                </button>
            })}
            {revises}
        </section>
    }
    .into_any()
}

/// Makes a new draft from this permit (`make`: revise or copy) and opens it for editing; a
/// refusal shows on this page. One at a time.
fn open_new_draft(ctx: ActionCtx, make: impl std::future::Future<Output = api::ApiResult<PermitView>> + 'static) {
    if ctx.busy.get_untracked() {
        return;
    }
    ctx.busy.set(true);
    spawn_local(async move {
        let result = make.await;
        ctx.busy.set(false);
        match result {
            Ok(draft) => {
                ctx.app.wrote();
                ctx.app.go(Page::EditDraft(draft.id));
            }
            Err(e) => ctx.error.set(Some(e)),
        }
    });
}

/// A finished permit as the start of the next one: a new draft with its work, not its dates.
#[component]
fn CopyAsTemplate(ctx: ActionCtx) -> impl IntoView {
    let i18n = use_i18n();
    let copy = move |_| open_new_draft(ctx, api::copy_permit(ctx.id));
    view! {
        <section class="card copy-template">
            <p class="hint">{t!(i18n, detail.copy_hint)}</p>
            <button class="secondary big wide" data-testid="action-copy" disabled=move || ctx.busy.get() on:click=copy>
                {t!(i18n, detail.copy)}
            </button>
        </section>
    }
}

/// Runs `f` with the names for this permit's type and grade, reactively in the language.
fn names_for<R: 'static>(
    permit: &PermitView,
    f: impl Fn(&Names) -> R + Send + Sync + 'static,
) -> impl Fn() -> Option<R> + Send + Sync + 'static {
    let i18n = use_i18n();
    let (t, g) = (permit.form.permit_type.clone(), permit.form.grade.clone());
    move || with_names(i18n.get_locale(), Some((&t, &g)), &f)
}

#[component]
fn Header(permit: PermitView) -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let f = permit.form.clone();
    let status = permit.state.status;
    let pending = permit.pending;
    let kind = {
        let (t, g, sub) = (f.permit_type.clone(), f.grade.clone(), f.subtype.clone());
        names_for(&permit, move |n| match &sub {
            Some(sub) => format!("{} · {}", n.type_and_grade(&t, &g), n.subtype(sub)),
            None => n.type_and_grade(&t, &g),
        })
    };
    // The type's own fields, in the catalog's order, as name and value.
    let details = {
        let (t, values) = (f.permit_type.clone(), f.details.clone());
        names_for(&permit, move |n| {
            let order = n.dir.catalog.permit_type(&t).map(|t| t.fields.clone()).unwrap_or_default();
            order
                .iter()
                .filter_map(|def| {
                    Some((def.code.clone(), n.detail(&def.code), n.detail_value(&def.code, values.get(&def.code)?)))
                })
                .collect::<Vec<_>>()
        })
    };
    let details = move || {
        details()
            .unwrap_or_default()
            .into_iter()
            .map(|(code, name, value)| view! { <dt>{name}</dt><dd data-testid=format!("permit-detail-{code}")>{value}</dd> })
            .collect_view()
    };
    let location = f.location;
    let place = names_for(&permit, move |n| n.location(location));
    let applicant = f.applicant;
    let applicant = names_for(&permit, move |n| applicant.map(|p| n.person(p)).unwrap_or_default());
    // The guardian now: whoever took the watch over last, else the form's.
    let guardian = permit.state.guardian();
    let guardian = names_for(&permit, move |n| guardian.map(|p| n.person(p)).unwrap_or_default());
    let crew = f.crew.clone();
    let crew = names_for(&permit, move |n| n.people(&crew));
    let precautions = f.precautions.clone();
    let precautions = names_for(&permit, move |n| precautions.iter().map(|c| n.precaution(c)).collect::<Vec<_>>());
    let window = format!("{} – {}", time::show(f.planned_start), time::show(f.planned_end));
    view! {
        <header class="permit-head card">
            <div class="head-line">
                <WorkTypeIcon permit_type=f.permit_type.clone() testid="permit-work-type"/>
                <span class="number" data-testid="permit-number">{permit.number.clone()}</span>
                <StatusBadge status=status testid="permit-status"/>
            </div>
            <h2 data-testid="permit-title">{f.title.clone()}</h2>
            {move || (pending && app.sync.with(|s| s.as_ref().is_some_and(|s| s.server_configured))).then(|| view! {
                <p class="not-on-server" data-testid="permit-not-on-server">{t!(i18n, detail.not_on_server)}</p>
            })}
            <details class="section facts-section" open=true>
                <summary><h3>{t!(i18n, detail.facts)}</h3></summary>
                <dl class="facts">
                    <dt>{t!(i18n, detail.kind)}</dt><dd data-testid="permit-kind">{kind}</dd>
                    <dt>{t!(i18n, form.location)}</dt><dd data-testid="permit-location">{place}</dd>
                    <dt>{t!(i18n, detail.window)}</dt><dd data-testid="permit-window">{window}</dd>
                    {details}
                    <dt>{t!(i18n, form.applicant)}</dt><dd data-testid="permit-applicant">{applicant}</dd>
                    <dt>{t!(i18n, form.guardian)}</dt><dd data-testid="permit-guardian">{guardian}</dd>
                    <dt>{t!(i18n, form.crew)}</dt><dd data-testid="permit-crew">{crew}</dd>
                    <dt>{t!(i18n, form.work_description)}</dt><dd class="pre">{f.work_description.clone()}</dd>
                    <dt>{t!(i18n, form.hazards)}</dt><dd class="pre">{f.hazards.clone()}</dd>
                    <dt>{t!(i18n, form.precautions)}</dt>
                    <dd>
                        <ul class="ticks">
                            {move || precautions().unwrap_or_default().into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}
                        </ul>
                    </dd>
                </dl>
            </details>
            <details class="section permit-qr-section" data-testid="permit-qr-section">
                <summary><h3>{t!(i18n, detail.qr)}</h3></summary>
                <div class="permit-qr">
                    <QrImage text=ptw_core::codes::permit_text(permit.id) testid="permit-qr"/>
                    <p class="hint">{t!(i18n, detail.qr_hint)}</p>
                </div>
            </details>
        </header>
    }
}

#[component]
fn Alerts(permit: PermitView) -> impl IntoView {
    let i18n = use_i18n();
    let alerts = permit.state.alerts.clone();
    if alerts.is_empty() {
        return None;
    }
    let texts = names_for(&permit, move |n| alerts.iter().map(|a| messages::alert_text(n, a)).collect::<Vec<_>>());
    Some(view! {
        <section class="card alerts">
            <h3>{t!(i18n, detail.alerts)}</h3>
            <ul>
                {move || texts().unwrap_or_default().into_iter().map(|t| view! { <li class="alert" data-testid="alert">"⚠ " {t}</li> }).collect_view()}
            </ul>
        </section>
    })
}

/// Who and what is in the space now, by the entry log, for permits of a type that keeps one
/// once work has started.
#[component]
fn Inside(permit: PermitView) -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let keeps_log = app.directory.with_untracked(|d| {
        d.as_ref()
            .and_then(|d| d.catalog.permit_type(&permit.form.permit_type))
            .is_some_and(|t| t.entrant_roster.is_some())
    });
    if !keeps_log || permit.state.started_at.is_none() {
        return None;
    }
    let inside = permit.state.inside.clone();
    let people = inside.iter().filter(|e| matches!(e, Entrant::Person(_))).count();
    let tools = inside.len() - people;
    let occupied = people + tools > 0;
    let names = names_for(&permit, move |n| n.join(inside.iter().map(|e| n.entrant(e))));
    Some(view! {
        <section class="card inside" class:occupied=occupied data-testid="inside">
            <h3>{t!(i18n, roster.inside_now)}</h3>
            {move || {
                if !occupied {
                    view! { <p class="empty" data-testid="inside-list">{t!(i18n, roster.nobody_inside)}</p> }.into_any()
                } else {
                    view! {
                        <p>
                            <strong data-testid="inside-count">
                                {fill(t_string!(i18n, roster.count), &[("people", &people), ("tools", &tools)])}
                            </strong>
                            " "
                            <span data-testid="inside-list">{names().unwrap_or_default()}</span>
                        </p>
                    }
                    .into_any()
                }
            }}
        </section>
    })
}

#[component]
fn Steps(permit: PermitView) -> impl IntoView {
    let i18n = use_i18n();
    let current = permit.state.current_step.clone();
    let steps = permit
        .state
        .steps
        .iter()
        .cloned()
        .map(|step| {
            let open = current.as_deref() == Some(step.id.as_str());
            view! { <Step step=step open=open permit=permit.clone()/> }
        })
        .collect_view();
    view! {
        <details class="card section steps-section" open=true>
            <summary><h3>{t!(i18n, detail.steps)}</h3></summary>
            <ol class="steps">{steps}</ol>
        </details>
    }
}

#[component]
fn Step(step: StepState, open: bool, permit: PermitView) -> impl IntoView {
    let i18n = use_i18n();
    let state = if step.done_at.is_some() {
        "done"
    } else if open {
        "open"
    } else {
        "waiting"
    };
    let name = step.name.clone();
    let role = step.role.clone();
    let role = names_for(&permit, move |n| n.role(&role));
    let countersign = step.mode == SignMode::Countersign;
    let due_ms = step.opened_at.map(|opened| opened + step.time_limit_minutes * 60_000);
    let overdue = open && due_ms.is_some_and(|d| time::now_ms() > d);
    let required = step.required.clone();
    let required = names_for(&permit, move |n| n.people(&required));
    let signatures = step
        .signatures
        .iter()
        .map(|s| {
            let person = s.person;
            let who = names_for(&permit, move |n| n.person(person));
            let comment = s.comment.clone();
            let handwritten = permit.state.handwritten.iter().find(|h| h.event == s.event).map(|h| {
                let broken = permit.state.signature_broken(h);
                view! { <super::signature::HandwrittenImage handwritten=h.clone() broken=broken/> }
            });
            view! {
                <li class="signature" data-testid="step-signature">
                    <strong>"✔ " {who}</strong>
                    <span class="time">{time::show_ms(s.time_ms)}</span>
                    {(!comment.is_empty()).then(|| view! { <span class="comment">"“" {comment} "”"</span> })}
                    {handwritten}
                </li>
            }
        })
        .collect_view();
    view! {
        <li class=format!("step step-{state}") data-testid=format!("step-{}", step.id)>
            <div class="step-head">
                <span class="step-name">{move || name.get(i18n.get_locale().as_str()).to_owned()}</span>
                <span class="step-role">{role}</span>
                <span class="step-mode">
                    {move || if countersign { t_string!(i18n, detail.countersign) } else { t_string!(i18n, detail.any_sign) }}
                </span>
                <span class="step-state">
                    {move || match state {
                        "done" => t_string!(i18n, detail.step_done),
                        "open" => t_string!(i18n, detail.step_open),
                        _ => t_string!(i18n, detail.step_waiting),
                    }}
                </span>
            </div>
            {countersign.then(|| view! {
                <p class="step-required">{t!(i18n, detail.required_signers)} {required}</p>
            })}
            {(open && due_ms.is_some()).then(|| view! {
                <p class=if overdue { "step-due overdue" } else { "step-due" }>
                    {move || fill(t_string!(i18n, detail.due), &[("time", &due_ms.map(time::show_ms).unwrap_or_default())])}
                </p>
            })}
            <ul class="signatures">{signatures}</ul>
        </li>
    }
}

fn reading_text(r: &GasReading) -> String {
    let part = |name: &str, v: Option<f64>, unit: &str| v.map(|v| format!("{name} {v} {unit}"));
    [part("O₂", r.o2_pct, "%"), part("LEL", r.lel_pct, "%"), part("H₂S", r.h2s_ppm, "ppm"), part("CO", r.co_ppm, "ppm")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ")
}

#[component]
fn GasTests(permit: PermitView) -> impl IntoView {
    let i18n = use_i18n();
    let tests = permit.state.gas_tests.clone();
    let rows = tests.into_iter().rev().map(|t| view! { <GasTestRow test=t permit=permit.clone()/> }).collect_view();
    view! {
        <details class="card section gas-section" open=true>
            <summary><h3>{t!(i18n, detail.gas_tests)}</h3></summary>
            {permit.state.gas_tests.is_empty().then(|| view! { <p class="empty">{t!(i18n, detail.no_gas_tests)}</p> })}
            <ul class="gas-tests">{rows}</ul>
        </details>
    }
}

#[component]
fn GasTestRow(test: GasTestRecord, permit: PermitView) -> impl IntoView {
    let i18n = use_i18n();
    let passed = test.passed();
    let tester = test.tester;
    let tester = names_for(&permit, move |n| n.person(tester));
    let exceedances = test.exceedances.clone();
    let failed_text = move || {
        let l = i18n.get_locale();
        exceedances
            .iter()
            .map(|e| messages::exceedance_text(l, e))
            .collect::<Vec<_>>()
            .join(td_string!(l, list_separator))
    };
    let r = test.reading.clone();
    view! {
        <li class=if passed { "gas-test pass" } else { "gas-test fail" } data-testid="gas-test-row">
            <div class="gas-line">
                <span class=if passed { "badge pass" } else { "badge fail" } data-testid="gas-result">
                    {move || if passed { t_string!(i18n, detail.gas_pass) } else { t_string!(i18n, detail.gas_fail) }}
                </span>
                <span class="time">{time::show_ms(test.time_ms)}</span>
                {(!test.time_verified).then(|| view! {
                    <span class="badge time-unverified" data-testid="gas-time-unverified">
                        {t!(i18n, detail.time_unverified)}
                    </span>
                })}
                <span>{tester}</span>
            </div>
            <div class="gas-values">{reading_text(&r)}</div>
            <div class="gas-meta">
                {move || fill(t_string!(i18n, detail.gas_instrument_point), &[("instrument", &r.instrument), ("point", &r.point)])}
            </div>
            {(!passed).then(|| view! { <div class="gas-exceeded">{failed_text}</div> })}
        </li>
    }
}

#[component]
fn EventLog(permit: PermitView) -> impl IntoView {
    let i18n = use_i18n();
    let rows = permit
        .state
        .timeline
        .iter()
        .cloned()
        .rev()
        .map(|entry| view! { <EventRow entry=entry permit=permit.clone()/> })
        .collect_view();
    view! {
        <details class="card section events-section" open=true>
            <summary><h3>{t!(i18n, detail.events)}</h3></summary>
            {permit.state.timeline.is_empty().then(|| view! { <p class="empty">{t!(i18n, detail.no_events)}</p> })}
            <ol class="events">{rows}</ol>
        </details>
    }
}

#[component]
fn EventRow(entry: TimelineEntry, permit: PermitView) -> impl IntoView {
    let rejected = match &entry.outcome {
        Outcome::Applied => None,
        Outcome::Rejected { violation } => Some(violation.clone()),
    };
    let class = if rejected.is_some() { "event rejected" } else { "event" };
    let event = entry.event.clone();
    let text = names_for(&permit, move |n| {
        let l = n.locale;
        let Some(ev) = &event else {
            return (String::new(), String::new(), td_string!(l, detail.unreadable_event).to_owned(), String::new());
        };
        let detail = match &ev.kind {
            EventKind::Approve { step, comment }
            | EventKind::Reject { step, comment }
            | EventKind::Accept { step, comment } => {
                if comment.is_empty() {
                    n.step(step)
                } else {
                    format!("{} — “{comment}”", n.step(step))
                }
            }
            EventKind::GasTest { reading } => reading_text(reading),
            EventKind::Suspend { reason } | EventKind::Cancel { reason } => reason.clone(),
            EventKind::Comment { text } => text.clone(),
            EventKind::Entry { entrant, .. } => n.entrant(entrant),
            EventKind::Handover { to, plant_state, open_items } => {
                let mut text =
                    fill(td_string!(l, handover.event_detail), &[("to", &n.person(*to)), ("state", plant_state)]);
                if !open_items.trim().is_empty() {
                    text.push_str(&fill(td_string!(l, handover.event_items), &[("items", open_items)]));
                }
                text
            }
            EventKind::TakeOver => String::new(),
            EventKind::FireWatchEnd { note } => note.clone(),
            EventKind::CheckIn { badge, location } | EventKind::CheckOut { badge, location } => {
                fill(td_string!(l, event.scan_detail), &[("badge", badge), ("location", location)])
            }
            EventKind::ChangeRequest { change } => change.explanation.clone(),
            EventKind::Photo { photo } => messages::photo_phase_text(l, photo.phase).to_owned(),
            EventKind::ApproveChange { comment, .. } | EventKind::RejectChange { comment, .. } => comment.clone(),
            EventKind::Submit { .. }
            | EventKind::Start
            | EventKind::Resume
            | EventKind::Complete
            | EventKind::Acknowledge { .. } => String::new(),
        };
        (time::show_ms(ev.time_ms()), n.person(ev.actor), messages::event_kind_text(l, &ev.kind), detail)
    });
    let rule = rejected.map(|v| {
        let rule = names_for(&permit, move |n| {
            fill(td_string!(n.locale, detail.rejected_because), &[("rule", &messages::violation_text(n, &v))])
        });
        view! { <div class="event-rule" data-testid="event-rule">"✖ " {rule}</div> }
    });
    view! {
        <li class=class data-testid="event-row">
            {move || {
                let (at, who, kind, detail) = text().unwrap_or_default();
                view! {
                    <div class="event-line">
                        <span class="time">{at}</span>
                        <span class="actor">{who}</span>
                        <strong class="kind">{kind}</strong>
                        <span class="detail">{detail}</span>
                    </div>
                }
            }}
            {rule}
        </li>
    }
}
