//! Check-in and check-out on site (到岗签到 / 离岗签退, R-QR), and the presence trail.
//!
//! The person signed in scans their own badge and the work location's poster: with the
//! tablet's camera (a photo, decoded in the back end, offline) or a keyboard-wedge reader, which
//! types the code's text into the field that has the focus. Either fills the field; the action
//! then signs both into the permit. Who may check in is ptw-core's rule
//! (`PermitState::check_in_refusal`), so the card is offered to exactly those it would accept.

use super::actions::ActionCtx;
use crate::api;
use crate::i18n::*;
use crate::messages::fill;
use crate::time;
use crate::widgets::{with_names, Icon};
use leptos::prelude::*;
use leptos::task::spawn_local;
use ptw_core::api::{Action, CommandError, PermitView};
use ptw_core::codes::Scan;
use web_sys::HtmlInputElement;

/// Which field a scan fills.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    Badge,
    Location,
}

/// Why a scan filled nothing in.
#[derive(Clone, Debug, PartialEq)]
enum ScanProblem {
    Failed(CommandError),
    /// A code of this system, but not the kind this field takes (a badge in the location field).
    WrongKind(Target),
    NotOurs,
}

/// The text a scan puts in `target`'s field: the id a badge or poster carries; a bare text
/// (typed by hand, or an older badge's id) as it is.
fn scanned_value(text: &str, target: Target) -> Result<String, ScanProblem> {
    match (Scan::parse(text), target) {
        (Scan::Badge(b), Target::Badge) => Ok(b),
        (Scan::Location(l), Target::Location) => Ok(l),
        (Scan::Badge(_), Target::Location) => Err(ScanProblem::WrongKind(Target::Location)),
        (Scan::Location(_), Target::Badge) => Err(ScanProblem::WrongKind(Target::Badge)),
        (Scan::NotOurs, _) if !text.trim().is_empty() => Ok(text.trim().to_owned()),
        _ => Err(ScanProblem::NotOurs),
    }
}

#[component]
pub fn PresenceCard(permit: PermitView, ctx: ActionCtx) -> impl IntoView {
    let i18n = use_i18n();
    let me = ctx.app.session.with_untracked(|s| s.as_ref().map(|s| s.person.id));
    let Some(me) = me else { return ().into_any() };
    let state = &permit.state;
    let on_site = state.on_site(me);
    let may_check_in = state.check_in_refusal(me).is_none();
    let badge = RwSignal::new(String::new());
    let location = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<ScanProblem>);
    let scanning = RwSignal::new(false);
    let badge_input = NodeRef::<leptos::html::Input>::new();
    let location_input = NodeRef::<leptos::html::Input>::new();

    let photo = move |ev: leptos::ev::Event, target: Target| {
        let input: HtmlInputElement = event_target(&ev);
        let Some(file) = input.files().and_then(|files| files.get(0)) else { return };
        input.set_value("");
        scanning.set(true);
        problem.set(None);
        spawn_local(async move {
            let found = match crate::pages::settings::file_bytes(file).await {
                Err(_) => Err(ScanProblem::Failed(CommandError::Qr { failure: ptw_core::api::QrFailure::NotAnImage })),
                Ok(bytes) => match api::decode_qr(&bytes).await {
                    Ok(text) => scanned_value(&text, target),
                    Err(e) => Err(ScanProblem::Failed(e)),
                },
            };
            match (found, target) {
                (Ok(v), Target::Badge) => badge.set(v),
                (Ok(v), Target::Location) => location.set(v),
                (Err(p), _) => problem.set(Some(p)),
            }
            scanning.set(false);
        });
    };
    // A wedge reader types the code's text and Enter: the field keeps the id it carries.
    let typed = move |signal: RwSignal<String>, target: Target| match scanned_value(&signal.get_untracked(), target) {
        Ok(v) => signal.set(v),
        Err(p) => problem.set(Some(p)),
    };
    let act = move |_| {
        let (b, l) = (badge.get_untracked().trim().to_owned(), location.get_untracked().trim().to_owned());
        let clear = move || {
            badge.set(String::new());
            location.set(String::new());
        };
        let (b, l) = (scanned_value(&b, Target::Badge).unwrap_or(b), scanned_value(&l, Target::Location).unwrap_or(l));
        let action = if on_site {
            Action::CheckOut { badge: b, location: l }
        } else {
            Action::CheckIn { badge: b, location: l }
        };
        ctx.run(action, clear);
    };
    let problem_text = move || {
        let locale = i18n.get_locale();
        problem.get().map(|p| match p {
            ScanProblem::Failed(e) => {
                with_names(locale, None, |n| crate::messages::error_text(n, &e)).unwrap_or_default()
            }
            ScanProblem::WrongKind(Target::Badge) => td_string!(locale, presence.not_a_badge).to_owned(),
            ScanProblem::WrongKind(Target::Location) => td_string!(locale, presence.not_a_location).to_owned(),
            ScanProblem::NotOurs => td_string!(locale, presence.not_ours).to_owned(),
        })
    };

    let trail = state
        .presence
        .iter()
        .map(|p| {
            let locale = i18n.get_locale_untracked();
            let name = with_names(locale, None, |n| n.person(p.person)).unwrap_or_default();
            let came = fill(
                td_string!(locale, presence.came),
                &[("at", &time::show_ms(p.checked_in.at_ms)), ("location", &p.checked_in.location)],
            );
            let left = p.checked_out.as_ref().map(|s| {
                fill(td_string!(locale, presence.left), &[("at", &time::show_ms(s.at_ms)), ("location", &s.location)])
            });
            let shown = name.clone();
            let wrong = !p.checked_in.location_matches || p.checked_out.as_ref().is_some_and(|s| !s.location_matches);
            view! {
                <li class="presence-row" class:wrong-location=wrong data-testid="presence-row" data-name=name>
                    <strong>{shown}</strong>
                    <span>{came}</span>
                    <span>{left.unwrap_or_else(|| td_string!(locale, presence.still_here).to_owned())}</span>
                    {wrong.then(|| view! { <span class="chip frozen" data-testid="presence-wrong-location">{t!(i18n, presence.wrong_location)}</span> })}
                </li>
            }
        })
        .collect_view();

    let form = (on_site || may_check_in).then(|| {
        view! {
            <p class="hint">{move || if on_site { t!(i18n, presence.hint_out).into_any() } else { t!(i18n, presence.hint_in).into_any() }}</p>
            <ScanField
                label=move || t_string!(i18n, presence.badge)
                value=badge
                testid="presence-badge"
                input=badge_input
                scanning=scanning
                on_photo=Callback::new(move |ev| photo(ev, Target::Badge))
                on_enter=Callback::new(move |()| typed(badge, Target::Badge))
                problem=problem
            />
            <ScanField
                label=move || t_string!(i18n, presence.location)
                value=location
                testid="presence-location"
                input=location_input
                scanning=scanning
                on_photo=Callback::new(move |ev| photo(ev, Target::Location))
                on_enter=Callback::new(move |()| typed(location, Target::Location))
                problem=problem
            />
            {move || problem_text().map(|t| view! { <p class="error" role="alert" data-testid="presence-problem">{t}</p> })}
            <button
                class="primary big wide"
                data-testid=if on_site { "action-check-out" } else { "action-check-in" }
                disabled=move || ctx.busy.get() || scanning.get()
                on:click=act
            >
                <Icon name=if on_site { "log-out" } else { "log-in" }/>
                {move || if on_site { t!(i18n, presence.check_out).into_any() } else { t!(i18n, presence.check_in).into_any() }}
            </button>
        }
    });
    if form.is_none() && state.presence.is_empty() {
        return ().into_any();
    }
    view! {
        <details class="action-group presence" open=true data-testid="presence">
            <summary>{t!(i18n, presence.title)}</summary>
            <ul class="presence-trail" data-testid="presence-trail">{trail}</ul>
            {form}
        </details>
    }
    .into_any()
}

/// A field a scan fills: typed into (or by a wedge reader), or from a photo of the code.
#[component]
fn ScanField(
    label: impl Fn() -> &'static str + Send + Sync + Copy + 'static,
    value: RwSignal<String>,
    testid: &'static str,
    input: NodeRef<leptos::html::Input>,
    scanning: RwSignal<bool>,
    on_photo: Callback<leptos::ev::Event>,
    on_enter: Callback<()>,
    problem: RwSignal<Option<ScanProblem>>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="field scan-field">
            <span class="label">{label}</span>
            <div class="inline-form">
                <input
                    type="text"
                    autocomplete="off"
                    data-testid=testid
                    aria-label=label
                    prop:value=move || value.get()
                    on:input=move |ev| {
                        problem.set(None);
                        value.set(event_target_value(&ev));
                    }
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Enter" {
                            ev.prevent_default();
                            on_enter.run(());
                        }
                    }
                />
                // On a tablet this opens the rear camera; elsewhere it picks a picture file.
                <input
                    type="file"
                    class="hidden"
                    accept="image/*"
                    capture="environment"
                    data-testid=format!("{testid}-photo-input")
                    node_ref=input
                    on:change=move |ev| on_photo.run(ev)
                />
                <button
                    type="button"
                    class="secondary big"
                    data-testid=format!("{testid}-photo")
                    disabled=move || scanning.get()
                    on:click=move |_| {
                        if let Some(i) = input.get() {
                            i.click();
                        }
                    }
                >
                    <Icon name="scan-line"/>
                    {t!(i18n, presence.scan)}
                </button>
            </div>
        </div>
    }
}
