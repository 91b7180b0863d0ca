//! Sign-in on a shared tablet: find your name (type part of it, or your badge id — a
//! keyboard-wedge badge reader types the badge's QR text and presses Enter), or photograph your
//! badge's QR code with the tablet's camera; then type your PIN.
//!
//! A tablet that is not enrolled yet has no people to choose from (they arrive with the plant's
//! registry from the sync server), so it says so and leads to the settings, where IT enrols it.

use crate::api;
use crate::i18n::*;
use crate::messages::fill;
use crate::state::{use_app, Page};
use crate::widgets::{with_names, Icon, Loading, PinInput};
use leptos::prelude::*;
use leptos::task::spawn_local;
use ptw_core::api::CommandError;
use ptw_core::codes::Scan;
use ptw_core::registry::Person;
use web_sys::HtmlInputElement;

/// People shown at once; more are found by typing.
const MAX_SHOWN: usize = 60;

/// Why a badge scan signed nobody in.
#[derive(Clone, Debug, PartialEq)]
enum BadgeProblem {
    /// The picture could not be read, or held no readable QR code.
    Failed(CommandError),
    /// A QR code, but not a badge of this plant's system.
    NotABadge,
    /// A badge whose id nobody in the register (still working here) holds.
    Unknown(String),
}

/// The person a scanned or typed text names: a badge's QR text (`openptw-badge:…`), or a bare
/// badge id as older badges and hand typing give it.
fn by_badge<'a>(people: &'a [Person], text: &str) -> Result<&'a Person, BadgeProblem> {
    let badge = match Scan::parse(text) {
        Scan::Badge(b) => b,
        Scan::NotOurs if !text.trim().is_empty() => text.trim().to_owned(),
        _ => return Err(BadgeProblem::NotABadge),
    };
    people.iter().find(|p| p.has_badge(&badge)).ok_or(BadgeProblem::Unknown(badge))
}

#[component]
pub fn SignIn() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let chosen = RwSignal::new(None::<Person>);
    let query = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<BadgeProblem>);
    let scanning = RwSignal::new(false);
    let scan_input = NodeRef::<leptos::html::Input>::new();

    move || {
        if let Some(person) = chosen.get() {
            return view! { <PinEntry person=person chosen=chosen/> }.into_any();
        }
        let Some(dir) = app.directory.get() else {
            return view! { <Loading/> }.into_any();
        };
        if !dir.enrolled {
            return view! { <NotEnrolled/> }.into_any();
        }
        let now = crate::time::now_ms();
        let people: Vec<Person> = dir.people.iter().filter(|p| !p.retired_at(now)).cloned().collect();
        let all = people.clone();
        let scanned_people = people.clone();
        // Enter: a badge typed or scanned by a keyboard-wedge reader, or the one person found.
        let pick = move || {
            let typed = query.get_untracked();
            let q = typed.trim();
            if q.is_empty() {
                return;
            }
            let badge = by_badge(&all, q);
            let found: Vec<&Person> = all.iter().filter(|p| p.matches_search(q)).collect();
            let one = match (&badge, found.as_slice()) {
                (Ok(p), _) => Some(*p),
                (Err(_), [p]) => Some(*p),
                (Err(e), _) => {
                    // A reader's badge text names nobody: say so rather than list no one.
                    if matches!(Scan::parse(q), Scan::Badge(_) | Scan::Damaged) {
                        problem.set(Some(e.clone()));
                    }
                    None
                }
            };
            if let Some(p) = one {
                query.set(String::new());
                problem.set(None);
                chosen.set(Some(p.clone()));
            }
        };
        // A photo of the badge: its QR code is read by the back end, offline.
        let scan = move |ev: leptos::ev::Event| {
            let input: HtmlInputElement = event_target(&ev);
            let Some(file) = input.files().and_then(|files| files.get(0)) else { return };
            input.set_value("");
            scanning.set(true);
            problem.set(None);
            let people = scanned_people.clone();
            spawn_local(async move {
                let found = match crate::pages::settings::file_bytes(file).await {
                    Err(_) => {
                        Err(BadgeProblem::Failed(CommandError::Qr { failure: ptw_core::api::QrFailure::NotAnImage }))
                    }
                    Ok(bytes) => match api::decode_qr(&bytes).await {
                        Ok(text) => by_badge(&people, &text).cloned(),
                        Err(e) => Err(BadgeProblem::Failed(e)),
                    },
                };
                match found {
                    Ok(p) => chosen.set(Some(p)),
                    Err(e) => problem.set(Some(e)),
                }
                scanning.set(false);
            });
        };
        let problem_text = move || {
            let locale = i18n.get_locale();
            problem.get().map(|p| match p {
                BadgeProblem::Failed(e) => {
                    with_names(locale, None, |n| crate::messages::error_text(n, &e)).unwrap_or_default()
                }
                BadgeProblem::NotABadge => td_string!(locale, sign_in.not_a_badge).to_owned(),
                BadgeProblem::Unknown(badge) => fill(td_string!(locale, sign_in.badge_unknown), &[("badge", &badge)]),
            })
        };
        let buttons = move || {
            let q = query.get();
            let found: Vec<&Person> = people.iter().filter(|p| p.matches_search(&q)).collect();
            if found.is_empty() {
                return view! { <p class="empty" data-testid="person-none">{t!(i18n, sign_in.nobody)}</p> }.into_any();
            }
            let more = found.len().saturating_sub(MAX_SHOWN);
            let list = found
                .into_iter()
                .take(MAX_SHOWN)
                .map(|p| {
                    let testid = format!("person-{}", p.name);
                    let roles = p.roles.clone();
                    let person = p.clone();
                    view! {
                        <button class="person" data-testid=testid on:click=move |_| chosen.set(Some(person.clone()))>
                            <span class="person-name">{p.name.clone()}</span>
                            <span class="person-title">{p.title.clone()}</span>
                            <span class="person-roles">
                                {move || with_names(i18n.get_locale(), None, |n| n.roles(&roles))}
                            </span>
                        </button>
                    }
                })
                .collect_view();
            view! {
                <div class="people">{list}</div>
                {(more > 0).then(|| view! {
                    <p class="hint" data-testid="person-more">{fill(t_string!(i18n, sign_in.more), &[("count", &more)])}</p>
                })}
            }
            .into_any()
        };
        view! {
            <section class="sign-in">
                <h2>{t!(i18n, sign_in.title)}</h2>
                <p class="hint">{t!(i18n, sign_in.hint)}</p>
                <input
                    class="person-search"
                    type="search"
                    data-testid="person-search"
                    autocomplete="off"
                    placeholder=move || t_string!(i18n, sign_in.search)
                    aria-label=move || t_string!(i18n, sign_in.search)
                    prop:value=move || query.get()
                    on:input=move |ev| {
                        problem.set(None);
                        query.set(event_target_value(&ev));
                    }
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Enter" {
                            ev.prevent_default();
                            pick();
                        }
                    }
                />
                // On a tablet this opens the rear camera; elsewhere it picks a picture file. The
                // input's own button would speak the webview's language: ours opens it.
                <input
                    type="file"
                    class="hidden"
                    accept="image/*"
                    capture="environment"
                    data-testid="scan-badge-input"
                    node_ref=scan_input
                    on:change=scan
                />
                <button
                    type="button"
                    class="secondary big scan-badge"
                    data-testid="scan-badge"
                    disabled=move || scanning.get()
                    on:click=move |_| {
                        if let Some(input) = scan_input.get() {
                            input.click();
                        }
                    }
                >
                    <Icon name="scan-line"/>
                    {move || if scanning.get() { t!(i18n, sign_in.scanning).into_any() } else { t!(i18n, sign_in.scan_badge).into_any() }}
                </button>
                {move || problem_text().map(|text| view! { <p class="error" role="alert" data-testid="badge-problem">{text}</p> })}
                {buttons}
            </section>
        }
        .into_any()
    }
}

/// Before enrolment: nobody to sign in as, and where to go about it.
#[component]
fn NotEnrolled() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    view! {
        <section class="sign-in not-enrolled" data-testid="not-enrolled">
            <h2>{t!(i18n, sign_in.not_enrolled_title)}</h2>
            <p class="hint">{t!(i18n, sign_in.not_enrolled)}</p>
            <button class="primary big" data-testid="not-enrolled-settings" on:click=move |_| app.open_settings()>
                {t!(i18n, sign_in.open_settings)}
            </button>
        </section>
    }
}

#[component]
fn PinEntry(person: Person, chosen: RwSignal<Option<Person>>) -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let pin = RwSignal::new(String::new());
    let error = RwSignal::new(None::<CommandError>);
    let busy = RwSignal::new(false);
    let id = person.id;
    let submit = move || {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let entered = pin.get_untracked();
        spawn_local(async move {
            match api::sign_in(id, entered).await {
                Ok(session) => {
                    app.page.set(Page::List);
                    app.session.set(Some(session));
                }
                Err(e) => {
                    pin.set(String::new());
                    error.set(Some(e));
                }
            }
            busy.set(false);
        });
    };
    let error_text = move || {
        error.get().map(|e| match e {
            CommandError::BadCredentials => t_string!(i18n, sign_in.wrong_pin).to_owned(),
            other => {
                with_names(i18n.get_locale(), None, |n| crate::messages::error_text(n, &other)).unwrap_or_default()
            }
        })
    };
    let name = person.name.clone();
    view! {
        <section class="pin-entry">
            <h2 data-testid="pin-entry-title">{move || fill(t_string!(i18n, sign_in.pin_for), &[("name", &name)])}</h2>
            <p class="person-title">{person.title.clone()}</p>
            <form on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }>
                <label class="field">
                    <span>{t!(i18n, sign_in.pin)}</span>
                    <PinInput value=pin error=error testid="pin-input"/>
                </label>
                {move || error_text().map(|text| view! { <p class="error" role="alert" data-testid="sign-in-error">{text}</p> })}
                <div class="buttons">
                    <button type="button" class="secondary" data-testid="sign-in-cancel" on:click=move |_| chosen.set(None)>
                        {t!(i18n, sign_in.back)}
                    </button>
                    <button type="submit" class="primary" data-testid="sign-in-button" disabled=move || busy.get()>
                        {t!(i18n, sign_in.submit)}
                    </button>
                </div>
            </form>
        </section>
    }
}
