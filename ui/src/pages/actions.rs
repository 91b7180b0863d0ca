//! The action panel of a permit: only what makes sense in its status — approve or reject while
//! in approval, gas tests until the work is done, start, suspend, resume, complete, accept,
//! cancel, and a comment at any time.
//!
//! It offers only what the signed-in person may do: the permit comes with ptw-core's offers for
//! them (the rules derivation applies to who acts), and for a step someone else must take the
//! panel says who ("等待 车间主任 刘洋 审批"). What only the moment of acting can judge — a
//! reading, the clock, the form — the back end still refuses with its rule, in words.
//!
//! The buttons of the current step are in one `.action-bar`: on a narrow or upright screen it
//! is fixed to the bottom of the screen, so the next thing to do is always in reach (main.css).

use super::signature::{Pad, SignaturePad};
use crate::api;
use crate::device_memory;
use crate::i18n::*;
use crate::icons;
use crate::messages::{self, fill};
use crate::state::{use_app, AppState, Page};
use crate::widgets::{enter_moves_on, with_names, Choice, ErrorBanner, Icon};
use leptos::prelude::*;
use leptos::task::spawn_local;
use ptw_core::api::{Action, CommandError, PermitView};
use ptw_core::event::{Entrant, GasReading};
use ptw_core::offers::ActionKind;
use ptw_core::{PermitId, PersonId, Status};

/// The signals a permit's detail page shares with its action panel. They live on the page, so
/// they survive the panel being redrawn for the permit's new state.
#[derive(Clone, Copy)]
pub struct ActionCtx {
    pub app: AppState,
    pub id: PermitId,
    pub permit: RwSignal<Option<PermitView>>,
    /// Why the last action failed (the refusal banner).
    pub error: RwSignal<Option<CommandError>>,
    /// The last action that was recorded, by its code.
    pub notice: RwSignal<Option<&'static str>>,
    pub busy: RwSignal<bool>,
}

pub(crate) fn action_code(action: &Action) -> &'static str {
    match action {
        Action::Submit => "submit",
        Action::Approve { .. } => "approve",
        Action::Reject { .. } => "reject",
        Action::GasTest { .. } => "gas_test",
        Action::Start => "start",
        Action::Suspend { .. } => "suspend",
        Action::Resume => "resume",
        Action::Complete => "complete",
        Action::Accept { .. } => "accept",
        Action::Cancel { .. } => "cancel",
        Action::Comment { .. } => "comment",
        Action::Entry { .. } => "entry",
        Action::Handover { .. } => "handover",
        Action::TakeOver => "take_over",
        Action::FireWatchEnd { .. } => "fire_watch_end",
        Action::CheckIn { .. } => "check_in",
        Action::CheckOut { .. } => "check_out",
        Action::Photo { .. } => "photo",
        Action::RequestChange { .. } => "change_request",
        Action::ApproveChange { .. } => "approve_change",
        Action::RejectChange { .. } => "reject_change",
        Action::Acknowledge { .. } => "acknowledge",
    }
}

impl ActionCtx {
    /// Asks the back end to record `action`; on success shows the new state, on refusal the rule.
    /// `then` runs after a success (e.g. to clear an input).
    pub fn run(self, action: Action, then: impl FnOnce() + 'static) {
        let code = action_code(&action);
        let id = self.id;
        self.run_call(code, async move { api::act(id, &action).await }, then);
    }

    /// [`ActionCtx::run`] for a command other than `act` (a photo): `call` answers the permit
    /// as it is after the action `code`.
    pub fn run_call(
        self,
        code: &'static str,
        call: impl std::future::Future<Output = api::ApiResult<PermitView>> + 'static,
        then: impl FnOnce() + 'static,
    ) {
        if self.busy.get_untracked() {
            return;
        }
        self.busy.set(true);
        self.error.set(None);
        self.notice.set(None);
        let app = self.app;
        spawn_local(async move {
            let result = call.await;
            self.busy.set(false);
            match result {
                Ok(view) => {
                    then();
                    self.notice.set(Some(code));
                    app.wrote();
                    self.permit.set(Some(view));
                }
                Err(e) => self.error.set(Some(e)),
            }
        });
    }
}

#[component]
pub fn ActionPanel(permit: PermitView, ctx: ActionCtx) -> impl IntoView {
    let i18n = use_i18n();
    let status = permit.state.status;
    let permit_key = (permit.form.permit_type.clone(), permit.form.grade.clone());
    let may = |kind: ActionKind| permit.offers.iter().any(|o| o.action == kind && o.mine);
    // Whose turn it is, as ptw-core decides it (a handover waiting first, then a change, then a
    // fire watch's sign-off, else the step that moves the permit on): said when it is someone
    // else's.
    let waiting = permit.turn.action.filter(|&action| !may(action)).map(|_| permit.turn.clone());
    let gas_allowed = may(ActionKind::GasTest);
    let cancel_allowed = may(ActionKind::Cancel);
    let notice = move || {
        ctx.notice.get().map(|code| {
            let text =
                fill(t_string!(i18n, actions.recorded), &[("action", &messages::action_text(i18n.get_locale(), code))]);
            view! { <p class="notice" role="status" data-testid="action-done">"✔ " {text}</p> }
        })
    };
    let main = match status {
        Status::Draft if may(ActionKind::Submit) => view! { <DraftActions ctx=ctx/> }.into_any(),
        Status::InApproval if may(ActionKind::Approve) => {
            view! { <ApprovalActions permit=permit.clone() ctx=ctx/> }.into_any()
        }
        Status::Approved if may(ActionKind::Start) => view! {
            <div class="action-bar" data-testid="action-bar">
                <SimpleAction ctx=ctx action=Action::Start testid="action-start" primary=true/>
            </div>
        }
        .into_any(),
        Status::Active if may(ActionKind::Complete) => view! {
            <div class="action-bar" data-testid="action-bar">
                <SimpleAction ctx=ctx action=Action::Complete testid="action-complete" primary=true/>
            </div>
        }
        .into_any(),
        Status::Suspended if may(ActionKind::Resume) => view! {
            <div class="action-bar" data-testid="action-bar">
                <SimpleAction ctx=ctx action=Action::Resume testid="action-resume" primary=true/>
            </div>
        }
        .into_any(),
        Status::Completed if permit.state.fire_watch.as_ref().is_some_and(|w| w.signed_off.is_none()) => {
            view! { <FireWatchCard permit=permit.clone() ctx=ctx may_sign=may(ActionKind::FireWatchEnd)/> }.into_any()
        }
        Status::Completed if may(ActionKind::Accept) => {
            view! { <AcceptanceActions permit=permit.clone() ctx=ctx/> }.into_any()
        }
        Status::Closed | Status::Rejected | Status::Cancelled => {
            view! { <p class="empty">{t!(i18n, actions.none_left)}</p> }.into_any()
        }
        _ => ().into_any(),
    };
    let waiting = waiting.map(|turn| {
        let app = ctx.app;
        let text = move || {
            let me = app.session.with(|s| s.as_ref().map(|s| s.person.id));
            with_names(i18n.get_locale(), None, |n| messages::turn_text(n, &turn, me)).flatten()
        };
        view! { <p class="waiting-for" role="status" data-testid="waiting-for">{text}</p> }
    });
    view! {
        <section class="card actions" data-testid="action-panel">
            <h3>{t!(i18n, actions.title)}</h3>
            <ErrorBanner error=ctx.error permit=Signal::stored(Some(permit_key))/>
            {notice}
            <Countdowns permit=permit.clone()/>
            {waiting}
            {main}
            {(status == Status::Active && may(ActionKind::Suspend)).then(|| view! { <ReasonAction ctx=ctx kind="suspend"/> })}
            {may(ActionKind::TakeOver).then(|| view! { <TakeOverCard permit=permit.clone() ctx=ctx/> })}
            <super::presence::PresenceCard permit=permit.clone() ctx=ctx/>
            <super::photos::PhotoCard permit=permit.clone() ctx=ctx/>
            {may(ActionKind::Entry).then(|| view! { <RosterForm permit=permit.clone() ctx=ctx/> })}
            {gas_allowed.then(|| view! { <GasTestForm permit=permit.clone() ctx=ctx/> })}
            {may(ActionKind::Handover).then(|| view! { <HandoverForm permit=permit.clone() ctx=ctx/> })}
            {may(ActionKind::RequestChange).then(|| view! { <super::change::ChangeRequestForm permit=permit.clone() ctx=ctx/> })}
            {cancel_allowed.then(|| view! { <ReasonAction ctx=ctx kind="cancel"/> })}
            <CommentForm ctx=ctx/>
        </section>
    }
}

/// The fire watch after hot work: how long it still runs, counted down each second against
/// the device's trusted time, and — for the fire watcher — the sign-off, with what they found.
/// Signing off early is refused by the rule, in words; nobody can accept the work before.
#[component]
fn FireWatchCard(permit: PermitView, ctx: ActionCtx, may_sign: bool) -> impl IntoView {
    let i18n = use_i18n();
    let Some(watch) = permit.state.fire_watch.clone() else { return ().into_any() };
    let now = RwSignal::new(crate::time::now_ms());
    let tick = set_interval_with_handle(move || now.set(crate::time::now_ms()), std::time::Duration::from_secs(1)).ok();
    on_cleanup(move || {
        if let Some(t) = tick {
            t.clear();
        }
    });
    let until = crate::time::show_ms(watch.until_ms);
    let status = move || {
        let left_ms = watch.until_ms - now.get();
        if left_ms > 0 {
            let secs = (left_ms + 999) / 1000;
            let left = format!("{:02}:{:02}", secs / 60, secs % 60);
            fill(t_string!(i18n, fire_watch.running), &[("left", &left), ("until", &until)])
        } else {
            fill(t_string!(i18n, fire_watch.over), &[("until", &until)])
        }
    };
    let note = RwSignal::new(String::new());
    let pad = Pad::new();
    view! {
        <div class="action-group fire-watch" data-testid="fire-watch">
            <h4>{t!(i18n, fire_watch.title)}</h4>
            <p class="countdown" role="timer" data-testid="fire-watch-countdown">{status}</p>
            {may_sign.then(|| view! {
                <label class="field">
                    <span class="label">{t!(i18n, fire_watch.note)}</span>
                    <input
                        type="text"
                        data-testid="fire-watch-note"
                        prop:value=move || note.get()
                        on:input=move |ev| note.set(event_target_value(&ev))
                    />
                </label>
                <SignaturePad pad=pad/>
                <div class="action-bar" data-testid="action-bar">
                    <button
                        class="primary big wide"
                        data-testid="action-fire-watch-end"
                        disabled=move || ctx.busy.get()
                        on:click=move |_| {
                            pad.sign(ctx, Action::FireWatchEnd { note: note.get_untracked() }, move || note.set(String::new()))
                        }
                    >
                        <Icon name=icons::action("fire_watch_end")/>
                        {t!(i18n, fire_watch.sign_off)}
                    </button>
                </div>
            })}
        </div>
    }
    .into_any()
}

/// `ms` as "H:MM:SS" (a duration, rounded up to the second so it never reads as over early).
fn clock_text(ms: i64) -> String {
    let secs = (ms.max(0) + 999) / 1000;
    format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// The clocks that run on an issued permit, ticking each second against the device's trusted
/// time: the validity left; the gas test's age before work starts; the next re-test due while
/// work runs (a type that re-tests at intervals); how long a pause has lasted against the
/// pause after which the space is tested again.
#[component]
fn Countdowns(permit: PermitView) -> impl IntoView {
    let i18n = use_i18n();
    let state = &permit.state;
    if !matches!(state.status, Status::Approved | Status::Active | Status::Suspended) {
        return ().into_any();
    }
    let now = RwSignal::new(crate::time::now_ms());
    let tick = set_interval_with_handle(move || now.set(crate::time::now_ms()), std::time::Duration::from_secs(1)).ok();
    on_cleanup(move || {
        if let Some(t) = tick {
            t.clear();
        }
    });
    let gas_rule = use_app().directory.with_untracked(|d| {
        d.as_ref()
            .and_then(|d| d.catalog.grade(&permit.form.permit_type, &permit.form.grade))
            .and_then(|g| g.gas_test.clone())
    });
    let last_pass = state.gas_tests.iter().rev().find(|t| t.passed()).map(|t| t.time_ms);
    // Work starts on the latest test only: a failed one after a pass leaves nothing to count.
    let latest_passed = state.gas_tests.last().is_some_and(|t| t.passed());
    let row = move |testid: &'static str, text: Box<dyn Fn() -> (String, bool) + Send + Sync>| {
        let text: std::sync::Arc<dyn Fn() -> (String, bool) + Send + Sync> = text.into();
        let class = text.clone();
        view! {
            <p class=move || if class().1 { "countdown overdue" } else { "countdown" } role="timer" data-testid=testid>
                {move || text().0}
            </p>
        }
    };
    let end_ms = permit.form.planned_end.map(|e| e.timestamp_millis());
    let validity = end_ms.map(|end| {
        let until = crate::time::show_ms(end);
        row(
            "countdown-validity",
            Box::new(move || {
                let left = end - now.get();
                if left > 0 {
                    (
                        fill(t_string!(i18n, countdown.validity), &[("left", &clock_text(left)), ("until", &until)]),
                        false,
                    )
                } else {
                    (fill(t_string!(i18n, countdown.validity_over), &[("until", &until)]), true)
                }
            }),
        )
    });
    let gas_age = (state.status == Status::Approved).then_some(()).and(gas_rule.clone()).and_then(|r| {
        let last = last_pass?;
        let limit = if latest_passed { last + r.max_age_minutes * 60_000 } else { i64::MIN };
        let until = crate::time::show_ms(limit);
        Some(row(
            "countdown-gas-age",
            Box::new(move || {
                let left = limit - now.get();
                if left > 0 {
                    (fill(t_string!(i18n, countdown.gas_age), &[("left", &clock_text(left)), ("until", &until)]), false)
                } else {
                    (t_string!(i18n, countdown.gas_age_over).to_owned(), true)
                }
            }),
        ))
    });
    let retest = (state.status == Status::Active).then_some(()).and(gas_rule.clone()).and_then(|r| {
        let every = r.retest_interval_minutes?;
        let due = last_pass? + every * 60_000;
        let at = crate::time::show_ms(due);
        Some(row(
            "countdown-retest",
            Box::new(move || {
                let left = due - now.get();
                if left >= 0 {
                    (fill(t_string!(i18n, countdown.retest), &[("left", &clock_text(left)), ("at", &at)]), false)
                } else {
                    (fill(t_string!(i18n, countdown.retest_over), &[("late", &clock_text(-left)), ("at", &at)]), true)
                }
            }),
        ))
    });
    let paused_at = match &state.suspension {
        Some(ptw_core::derive::Suspension::Stopped { at_ms, .. })
        | Some(ptw_core::derive::Suspension::GasTestFailed { at_ms, .. })
        | Some(ptw_core::derive::Suspension::GuardianLeft { at_ms, .. }) => Some(*at_ms),
        None => None,
    };
    // Once the gas was tested again since the pause began, that rule is met.
    let paused_at = paused_at.filter(|since| last_pass.is_none_or(|t| t <= *since));
    let pause = paused_at.zip(gas_rule.and_then(|r| r.retest_after_pause_minutes)).map(|(since, minutes)| {
        let limit = minutes.to_string();
        row(
            "countdown-pause",
            Box::new(move || {
                let paused = now.get() - since;
                let over = paused > minutes * 60_000;
                let key = if over { t_string!(i18n, countdown.pause_over) } else { t_string!(i18n, countdown.pause) };
                (fill(key, &[("paused", &clock_text(paused)), ("minutes", &limit)]), over)
            }),
        )
    });
    view! {
        <div class="countdowns" data-testid="countdowns">
            {validity}
            {gas_age}
            {retest}
            {pause}
        </div>
    }
    .into_any()
}

/// A one-click action (start, resume, complete, submit).
#[component]
fn SimpleAction(
    ctx: ActionCtx,
    action: Action,
    testid: &'static str,
    #[prop(optional)] primary: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let code = action_code(&action);
    view! {
        <button
            class=if primary { "primary big wide" } else { "secondary big wide" }
            data-testid=testid
            disabled=move || ctx.busy.get()
            on:click=move |_| ctx.run(action.clone(), || ())
        >
            <Icon name=icons::action(code)/>
            {move || messages::action_text(i18n.get_locale(), code)}
        </button>
    }
}

#[component]
fn DraftActions(ctx: ActionCtx) -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    view! {
        <div class="action-group">
            <p class="hint">{t!(i18n, actions.draft_hint)}</p>
            <div class="action-bar" data-testid="action-bar">
                <button class="secondary big wide" data-testid="action-edit" on:click=move |_| app.go(Page::EditDraft(ctx.id))>
                    <Icon name="pencil"/>
                    {t!(i18n, actions.edit)}
                </button>
                <SimpleAction ctx=ctx action=Action::Submit testid="action-submit" primary=true/>
            </div>
        </div>
    }
}

#[component]
fn ApprovalActions(permit: PermitView, ctx: ActionCtx) -> impl IntoView {
    let i18n = use_i18n();
    let comment = RwSignal::new(String::new());
    let step = permit.state.current_step.clone().and_then(|id| permit.state.step(&id).cloned());
    let (t, g) = (permit.form.permit_type.clone(), permit.form.grade.clone());
    let step_text = move || {
        let step = step.as_ref()?;
        let lang = i18n.get_locale().as_str();
        let role = with_names(i18n.get_locale(), Some((&t, &g)), |n| n.role(&step.role)).unwrap_or_default();
        Some(fill(t_string!(i18n, actions.open_step), &[("step", &step.name.get(lang)), ("role", &role)]))
    };
    let clear = move || comment.set(String::new());
    let pad = Pad::new();
    view! {
        <div class="action-group">
            <p class="open-step" data-testid="open-step">{step_text}</p>
            <label class="field">
                <span class="label">{t!(i18n, actions.approval_comment)}</span>
                <textarea
                    rows="2"
                    data-testid="approval-comment"
                    prop:value=move || comment.get()
                    on:input=move |ev| comment.set(event_target_value(&ev))
                ></textarea>
            </label>
            <SignaturePad pad=pad/>
            <div class="buttons action-bar" data-testid="action-bar">
                <button
                    class="danger big"
                    data-testid="action-reject"
                    disabled=move || ctx.busy.get()
                    on:click=move |_| pad.sign(ctx, Action::Reject { comment: comment.get_untracked() }, clear)
                >
                    <Icon name="x"/>
                    {t!(i18n, actions.reject)}
                </button>
                <button
                    class="primary big"
                    data-testid="action-approve"
                    disabled=move || ctx.busy.get()
                    on:click=move |_| pad.sign(ctx, Action::Approve { comment: comment.get_untracked() }, clear)
                >
                    <Icon name="check"/>
                    {t!(i18n, actions.approve)}
                </button>
            </div>
        </div>
    }
}

#[component]
fn AcceptanceActions(permit: PermitView, ctx: ActionCtx) -> impl IntoView {
    let i18n = use_i18n();
    let comment = RwSignal::new(String::new());
    let pad = Pad::new();
    let step = permit.state.current_step.clone().and_then(|id| permit.state.step(&id).cloned());
    let (t, g) = (permit.form.permit_type.clone(), permit.form.grade.clone());
    let step_text = move || {
        let step = step.as_ref()?;
        let lang = i18n.get_locale().as_str();
        let role = with_names(i18n.get_locale(), Some((&t, &g)), |n| n.role(&step.role)).unwrap_or_default();
        Some(fill(t_string!(i18n, actions.open_step), &[("step", &step.name.get(lang)), ("role", &role)]))
    };
    view! {
        <div class="action-group">
            <p class="open-step" data-testid="open-step">{step_text}</p>
            <label class="field">
                <span class="label">{t!(i18n, actions.acceptance_comment)}</span>
                <textarea
                    rows="2"
                    data-testid="accept-comment"
                    prop:value=move || comment.get()
                    on:input=move |ev| comment.set(event_target_value(&ev))
                ></textarea>
            </label>
            <SignaturePad pad=pad/>
            <div class="action-bar" data-testid="action-bar">
                <button
                    class="primary big wide"
                    data-testid="action-accept"
                    disabled=move || ctx.busy.get()
                    on:click=move |_| pad.sign(ctx, Action::Accept { comment: comment.get_untracked() }, move || comment.set(String::new()))
                >
                    <Icon name="check-check"/>
                    {t!(i18n, actions.accept)}
                </button>
            </div>
        </div>
    }
}

/// The entry log (进出登记) the guardian keeps at the opening of a confined space: each worker of
/// the crew in or out with one tap, tools in by name and out again. While work is suspended
/// people and tools only come out.
#[component]
fn RosterForm(permit: PermitView, ctx: ActionCtx) -> impl IntoView {
    let i18n = use_i18n();
    let going_in_allowed = permit.state.status == Status::Active;
    let inside = permit.state.inside.clone();
    let tool = RwSignal::new(String::new());
    let log = move |entrant: Entrant, inside: bool| ctx.run(Action::Entry { entrant, inside }, || ());
    let crew_rows = permit
        .form
        .crew
        .iter()
        .map(|&person| {
            let is_inside = inside.contains(&Entrant::Person(person));
            let name = with_names(i18n.get_locale_untracked(), None, |n| n.person(person)).unwrap_or_default();
            let testid = format!("entry-{name}");
            view! {
                <li class="roster-row" class:inside=is_inside data-testid="roster-person">
                    <strong>{name}</strong>
                    <span class="roster-state">
                        {move || if is_inside { t_string!(i18n, roster.inside) } else { t_string!(i18n, roster.outside) }}
                    </span>
                    {(is_inside || going_in_allowed).then(|| view! {
                        <button
                            class=if is_inside { "secondary" } else { "primary" }
                            data-testid=testid.clone()
                            disabled=move || ctx.busy.get()
                            on:click=move |_| log(Entrant::Person(person), !is_inside)
                        >
                            <Icon name=if is_inside { "log-out" } else { "log-in" }/>
                            {move || if is_inside { t_string!(i18n, roster.come_out) } else { t_string!(i18n, roster.go_in) }}
                        </button>
                    })}
                </li>
            }
        })
        .collect_view();
    let tool_rows = inside
        .iter()
        .filter_map(|e| match e {
            Entrant::Tool(name) => Some(name.clone()),
            Entrant::Person(_) => None,
        })
        .map(|name| {
            let out = name.clone();
            view! {
                <li class="roster-row inside" data-testid="roster-tool">
                    <strong>{name}</strong>
                    <button class="secondary" disabled=move || ctx.busy.get() on:click=move |_| log(Entrant::Tool(out.clone()), false)>
                        <Icon name="log-out"/>
                        {t!(i18n, roster.tool_out)}
                    </button>
                </li>
            }
        })
        .collect_view();
    view! {
        <details class="action-group roster" open=true data-testid="roster-form">
            <summary>{t!(i18n, roster.title)}</summary>
            <ul class="roster-list">{crew_rows}{tool_rows}</ul>
            {going_in_allowed.then(|| view! {
                <label class="field">
                    <span class="label">{t!(i18n, roster.tool_name)}</span>
                    <input
                        type="text"
                        data-testid="entry-tool-name"
                        prop:value=move || tool.get()
                        on:input=move |ev| tool.set(event_target_value(&ev))
                    />
                </label>
                <button
                    class="secondary big wide"
                    data-testid="entry-tool-in"
                    disabled=move || ctx.busy.get()
                    on:click=move |_| {
                        ctx.run(
                            Action::Entry { entrant: Entrant::Tool(tool.get_untracked()), inside: true },
                            move || tool.set(String::new()),
                        )
                    }
                >
                    <Icon name="log-in"/>
                    {t!(i18n, roster.tool_in)}
                </button>
            })}
        </details>
    }
}

/// The outgoing guardian's half of a shift handover: who takes over (one tap, among the plant's
/// guardians who are not on the permit otherwise), the state of the plant and the open items.
#[component]
fn HandoverForm(permit: PermitView, ctx: ActionCtx) -> impl IntoView {
    let i18n = use_i18n();
    let to = RwSignal::new(None::<PersonId>);
    let plant_state = RwSignal::new(String::new());
    let open_items = RwSignal::new(String::new());
    let pad = Pad::new();
    // Whom the rules let take over (the back end judges it again).
    let candidates: Vec<(PersonId, String, String)> = ctx
        .app
        .directory
        .with_untracked(|d| {
            d.as_ref().map(|d| {
                d.people
                    .iter()
                    .filter(|p| permit.state.may_take_over_as_guardian(p))
                    .map(|p| (p.id, p.name.clone(), p.title.clone()))
                    .collect()
            })
        })
        .unwrap_or_default();
    let nobody = candidates.is_empty();
    let rows = candidates
        .into_iter()
        .map(|(id, name, title)| {
            view! {
                <label class="check-row">
                    <input
                        type="radio"
                        name="handover-to"
                        data-testid=format!("handover-to-{name}")
                        prop:checked=move || to.get() == Some(id)
                        on:change=move |_| to.set(Some(id))
                    />
                    <span><strong>{name}</strong> <small>{title}</small></span>
                </label>
            }
        })
        .collect_view();
    let text_field = move |sig: RwSignal<String>, testid: &'static str, label: String| {
        view! {
            <label class="field">
                <span class="label">{label}</span>
                <textarea rows="2" data-testid=testid prop:value=move || sig.get() on:input=move |ev| sig.set(event_target_value(&ev))></textarea>
            </label>
        }
    };
    view! {
        <details class="action-group handover" data-testid="handover-form">
            <summary>{t!(i18n, handover.title)}</summary>
            {nobody.then(|| view! { <p class="hint">{t!(i18n, handover.nobody)}</p> })}
            <div class="field">
                <span class="label">{t!(i18n, handover.to)}</span>
                <div class="checks">{rows}</div>
            </div>
            {move || text_field(plant_state, "handover-plant-state", t_string!(i18n, handover.plant_state).to_owned())}
            {move || text_field(open_items, "handover-open-items", t_string!(i18n, handover.open_items).to_owned())}
            <SignaturePad pad=pad/>
            <button
                class="secondary big wide"
                data-testid="action-handover"
                disabled=move || ctx.busy.get() || to.get().is_none()
                on:click=move |_| {
                    if let Some(to_id) = to.get_untracked() {
                        let action = Action::Handover {
                            to: to_id,
                            plant_state: plant_state.get_untracked(),
                            open_items: open_items.get_untracked(),
                        };
                        pad.sign(ctx, action, move || {
                            plant_state.set(String::new());
                            open_items.set(String::new());
                            to.set(None);
                        });
                    }
                }
            >
                <Icon name="log-out"/>
                {t!(i18n, handover.hand_over)}
            </button>
        </details>
    }
}

/// The incoming guardian's half: what the outgoing one wrote, and the take-over signature.
#[component]
fn TakeOverCard(permit: PermitView, ctx: ActionCtx) -> impl IntoView {
    let i18n = use_i18n();
    let pending = permit.state.handover.clone()?;
    let pad = Pad::new();
    let heading = with_names(i18n.get_locale_untracked(), None, |n| {
        fill(
            td_string!(n.locale, handover.pending),
            &[
                ("from", &n.person(pending.from)),
                ("to", &n.person(pending.to)),
                ("at", &crate::time::show_ms(pending.at_ms)),
            ],
        )
    })
    .unwrap_or_default();
    Some(view! {
        <div class="action-group take-over" data-testid="take-over">
            <p><strong data-testid="handover-pending">{heading}</strong></p>
            <dl class="handover-notes">
                <dt>{t!(i18n, handover.plant_state)}</dt><dd data-testid="handover-state">{pending.plant_state.clone()}</dd>
                <dt>{t!(i18n, handover.open_items)}</dt><dd data-testid="handover-items">{pending.open_items.clone()}</dd>
            </dl>
            <SignaturePad pad=pad/>
            <div class="action-bar" data-testid="action-bar">
                <button
                    class="primary big wide"
                    data-testid="action-take-over"
                    disabled=move || ctx.busy.get()
                    on:click=move |_| pad.sign(ctx, Action::TakeOver, || ())
                >
                    <Icon name=icons::action("take_over")/>
                    {move || messages::action_text(i18n.get_locale(), "take_over")}
                </button>
            </div>
        </div>
    })
}

/// Suspend or cancel: both need a reason, written down before the button is pressed.
#[component]
fn ReasonAction(ctx: ActionCtx, kind: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    let reason = RwSignal::new(String::new());
    let make = move |reason: String| match kind {
        "suspend" => Action::Suspend { reason },
        _ => Action::Cancel { reason },
    };
    let label = move || {
        if kind == "suspend" {
            t_string!(i18n, actions.suspend_reason)
        } else {
            t_string!(i18n, actions.cancel_reason)
        }
    };
    view! {
        <div class="action-group">
            <label class="field">
                <span class="label">{label}</span>
                <input
                    type="text"
                    data-testid=format!("{kind}-reason")
                    prop:value=move || reason.get()
                    on:input=move |ev| reason.set(event_target_value(&ev))
                />
            </label>
            <button
                class=if kind == "suspend" { "warning big wide" } else { "danger big wide" }
                data-testid=format!("action-{kind}")
                disabled=move || ctx.busy.get()
                on:click=move |_| ctx.run(make(reason.get_untracked()), move || reason.set(String::new()))
            >
                <Icon name=icons::action(kind)/>
                {move || messages::action_text(i18n.get_locale(), kind)}
            </button>
        </div>
    }
}

fn number(text: &str) -> Option<f64> {
    let t = text.trim().replace(',', ".");
    if t.is_empty() {
        None
    } else {
        t.parse().ok()
    }
}

/// Gas test (气体分析) entry: the four readings, the instrument and where the sample was taken.
///
/// The readings are text fields with the decimal keypad (`inputmode`), not `type="number"`,
/// whose spinners are too small to touch and whose parsing follows the webview's locale. The
/// instrument and sampling point start as the tester last recorded them on this device; the
/// readings start empty, and are emptied again once a test is recorded. The keypad's "next"
/// key moves from field to field.
#[component]
fn GasTestForm(permit: PermitView, ctx: ActionCtx) -> impl IntoView {
    let i18n = use_i18n();
    let [o2, lel, h2s, co, instrument, point] = std::array::from_fn(|_| RwSignal::new(String::new()));
    let tester = ctx.app.session.with_untracked(|s| s.as_ref().map(|s| s.person.id));
    if let Some(tester) = tester {
        let setup = device_memory::gas_test_setup(tester);
        instrument.set(setup.instrument);
        point.set(setup.point);
    }
    // The grade's limits, shown next to each reading (read once: they do not change here), and
    // in a large space the sample points, one button each.
    let rule = ctx.app.directory.with_untracked(|d| {
        d.as_ref()?.catalog.grade(&permit.form.permit_type, &permit.form.grade).and_then(|g| g.gas_test.clone())
    });
    let limits = rule.as_ref().map(|t| t.limits.clone()).unwrap_or_default();
    let points: Vec<ptw_core::catalog::SamplePoint> =
        rule.as_ref().map(|r| r.required_points(&permit.state.form).into_iter().cloned().collect()).unwrap_or_default();
    if !points.is_empty() && !points.iter().any(|p| p.code == point.get_untracked()) {
        point.set(String::new());
    }
    let point_buttons = (!points.is_empty()).then(|| {
        let buttons = points
            .into_iter()
            .map(|p| {
                let (code, pick) = (p.code.clone(), p.code.clone());
                view! {
                    <Choice
                        chosen=Signal::derive(move || point.get() == code)
                        testid=format!("gas-point-{}", p.code)
                        on_pick=Callback::new(move |()| point.set(pick.clone()))
                    >
                        {move || p.name.get(i18n.get_locale().as_str()).to_owned()}
                    </Choice>
                }
            })
            .collect_view();
        view! {
            <div class="field">
                <span class="label">{t!(i18n, actions.gas_point)}</span>
                <div class="choices" role="radiogroup" data-testid="gas-points">{buttons}</div>
            </div>
        }
    });
    let free_point = point_buttons.is_none();
    let range = |lo: Option<f64>, hi: Option<f64>| match (lo, hi) {
        (Some(lo), Some(hi)) => format!("{lo}–{hi}"),
        (None, Some(hi)) => format!("≤ {hi}"),
        (Some(lo), None) => format!("≥ {lo}"),
        (None, None) => String::new(),
    };
    let input = move |sig: RwSignal<String>, testid: &'static str, label: String, hint: String, numeric: bool| {
        view! {
            <label class="field">
                <span class="label">{label} " " <small class="hint">{hint}</small></span>
                <input
                    type="text"
                    inputmode=if numeric { "decimal" } else { "text" }
                    enterkeyhint=if testid == "gas-point" { "done" } else { "next" }
                    autocomplete="off"
                    data-testid=testid
                    prop:value=move || sig.get()
                    on:input=move |ev| sig.set(event_target_value(&ev))
                />
            </label>
        }
    };
    let record = move |_| {
        let reading = GasReading {
            o2_pct: number(&o2.get_untracked()),
            lel_pct: number(&lel.get_untracked()),
            h2s_ppm: number(&h2s.get_untracked()),
            co_ppm: number(&co.get_untracked()),
            instrument: instrument.get_untracked().trim().to_owned(),
            point: point.get_untracked().trim().to_owned(),
        };
        let setup =
            device_memory::GasTestSetup { instrument: reading.instrument.clone(), point: reading.point.clone() };
        ctx.run(Action::GasTest { reading }, move || {
            for s in [o2, lel, h2s, co] {
                s.set(String::new());
            }
            if let Some(tester) = tester {
                device_memory::remember_gas_test_setup(tester, &setup);
            }
        });
    };
    view! {
        // Enter (the keypad's "next") goes from one reading to the next, in the order of the
        // test: O₂, flammables, toxics.
        <details class="action-group gas-form" open=true on:keydown=enter_moves_on>
            <summary>{t!(i18n, actions.gas_test)}</summary>
            <div class="grid2">
                {input(o2, "gas-o2", "O₂ (%)".to_owned(), range(limits.o2_min_pct, limits.o2_max_pct), true)}
                {input(
                    lel,
                    "gas-lel",
                    "LEL (%)".to_owned(),
                    match limits.lel_max_pct {
                        Some(hi) if limits.lel_below => format!("< {hi}"),
                        hi => range(None, hi),
                    },
                    true,
                )}
                {input(h2s, "gas-h2s", "H₂S (ppm)".to_owned(), range(None, limits.h2s_max_ppm), true)}
                {input(co, "gas-co", "CO (ppm)".to_owned(), range(None, limits.co_max_ppm), true)}
            </div>
            {move || input(instrument, "gas-instrument", t_string!(i18n, actions.gas_instrument).to_owned(), String::new(), false)}
            {point_buttons}
            {move || free_point.then(|| input(point, "gas-point", t_string!(i18n, actions.gas_point).to_owned(), String::new(), false))}
            <button class="primary big wide" data-testid="action-gas-test" disabled=move || ctx.busy.get() on:click=record>
                <Icon name="gauge"/>
                {t!(i18n, actions.record_gas_test)}
            </button>
        </details>
    }
}

#[component]
fn CommentForm(ctx: ActionCtx) -> impl IntoView {
    let i18n = use_i18n();
    let text = RwSignal::new(String::new());
    view! {
        <div class="action-group">
            <label class="field">
                <span class="label">{t!(i18n, actions.comment)}</span>
                <textarea
                    rows="2"
                    data-testid="comment-text"
                    prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))
                ></textarea>
            </label>
            <button
                class="secondary big wide"
                data-testid="action-comment"
                disabled=move || ctx.busy.get()
                on:click=move |_| ctx.run(Action::Comment { text: text.get_untracked() }, move || text.set(String::new()))
            >
                <Icon name="message-square"/>
                {t!(i18n, actions.add_comment)}
            </button>
        </div>
    }
}
