//! Sign-in on a shared tablet: tap your name, type your PIN.
//!
//! A tablet that is not enrolled yet has no people to choose from (they arrive with the plant's
//! registry from the sync server), so it says so and leads to the settings, where IT enrols it.

use crate::api;
use crate::i18n::*;
use crate::messages::fill;
use crate::state::{use_app, Page};
use crate::widgets::{with_names, Loading};
use leptos::prelude::*;
use leptos::task::spawn_local;
use ptw_core::api::CommandError;
use ptw_core::registry::Person;

#[component]
pub fn SignIn() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let chosen = RwSignal::new(None::<Person>);

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
        let buttons = dir
            .people
            .iter()
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
            <section class="sign-in">
                <h2>{t!(i18n, sign_in.title)}</h2>
                <p class="hint">{t!(i18n, sign_in.hint)}</p>
                <div class="people">{buttons}</div>
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
    // The PIN field takes the focus, so a tablet opens its number pad at once.
    let pin_input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = pin_input.get() {
            let _ = input.focus();
        }
    });

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
            <h2>{move || fill(t_string!(i18n, sign_in.pin_for), &[("name", &name)])}</h2>
            <p class="person-title">{person.title.clone()}</p>
            <form on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }>
                <label class="field">
                    <span>{t!(i18n, sign_in.pin)}</span>
                    <input
                        type="password"
                        inputmode="numeric"
                        pattern="[0-9]*"
                        autocomplete="off"
                        class="pin"
                        data-testid="pin-input"
                        node_ref=pin_input
                        prop:value=move || pin.get()
                        on:input=move |ev| {
                            error.set(None);
                            pin.set(event_target_value(&ev));
                        }
                    />
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
