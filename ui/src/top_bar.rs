//! The bar on every screen: app name, online/offline, changes waiting to sync, who is signed
//! in, and the language switch. On a plant tablet a person must always see whether what they
//! record has left the device yet.

use crate::api;
use crate::i18n::*;
use crate::state::{use_app, Page};
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn TopBar() -> impl IntoView {
    let i18n = use_i18n();
    let toggle_language = move |_| {
        let next = match i18n.get_locale_untracked() {
            Locale::en => Locale::zh_CN,
            _ => Locale::en,
        };
        i18n.set_locale(next);
    };
    view! {
        <header class="app-bar">
            <h1 id="app-title">{t!(i18n, app_title)}</h1>
            <SyncIndicator/>
            <SignedInPerson/>
            <button id="toggle-language" class="lang" data-testid="language-switch" on:click=toggle_language>
                {t!(i18n, language)}
            </button>
        </header>
    }
}

/// Online/offline and the number of changes not yet acknowledged by the sync server.
#[component]
fn SyncIndicator() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    // The browser knows whether there is a network at all; the back end knows whether a sync
    // server is configured and answered.
    let connection = move || {
        let browser = app.browser_online.get();
        let sync = app.sync.get();
        match (browser, sync) {
            (false, _) => ("offline", t_string!(i18n, top.offline)),
            (true, Some(s)) if !s.server_configured => ("local", t_string!(i18n, top.local_only)),
            (true, Some(s)) if !s.online => ("offline", t_string!(i18n, top.server_unreachable)),
            (true, Some(_)) => ("online", t_string!(i18n, top.online)),
            (true, None) => ("unknown", t_string!(i18n, top.checking)),
        }
    };
    let pending = move || app.sync.with(|s| s.as_ref().map(|s| s.pending_changes).unwrap_or(0));
    view! {
        <div class="sync">
            <span class=move || format!("conn conn-{}", connection().0) data-testid="online-status">
                <span class="dot" aria-hidden="true"></span>
                {move || connection().1}
            </span>
            <span class=move || { if pending() > 0 { "pending has-pending" } else { "pending" } }>
                <span data-testid="pending-count">{pending}</span>
                " "
                {t!(i18n, top.pending_suffix)}
            </span>
        </div>
    }
}

#[component]
fn SignedInPerson() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let sign_out = move |_| {
        spawn_local(async move {
            // Signing out is local; whatever the back end answers, this device forgets the person.
            let _ = api::sign_out().await;
            app.session.set(None);
            app.page.set(Page::List);
        });
    };
    move || {
        app.session.get().map(|s| {
            view! {
                <div class="who">
                    <span class="who-name" data-testid="current-person">
                        <strong>{s.person.name.clone()}</strong>
                        <small>{s.person.title.clone()}</small>
                    </span>
                    <button class="sign-out" data-testid="sign-out" on:click=sign_out>{t!(i18n, top.sign_out)}</button>
                </div>
            }
        })
    }
}
