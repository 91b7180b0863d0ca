//! The bar on every screen: app name, online/offline, when this device last synced, changes
//! waiting to sync, who is signed in, the settings and the language switch. On a plant tablet
//! a person must always see whether what they record has left the device yet — and whether the
//! device was revoked or the server refused some of it (the settings say why).

use crate::api;
use crate::i18n::*;
use crate::messages::fill;
use crate::state::{use_app, AppState, Page};
use crate::time;
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn TopBar() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
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
            <button
                class="open-settings"
                class:active=move || app.settings_open.get()
                data-testid="open-settings"
                on:click=move |_| app.open_settings()
            >
                {t!(i18n, top.settings)}
            </button>
            <button id="toggle-language" class="lang" data-testid="language-switch" on:click=toggle_language>
                {t!(i18n, language)}
            </button>
        </header>
    }
}

/// The connection as a CSS modifier and words: the browser knows whether there is a network at
/// all; the back end knows whether a sync server is configured and answered.
pub fn connection(l: Locale, app: AppState) -> (&'static str, &'static str) {
    let browser = app.browser_online.get();
    app.sync.with(|sync| match (browser, sync) {
        (false, _) => ("offline", td_string!(l, top.offline)),
        (true, Some(s)) if !s.server_configured => ("local", td_string!(l, top.local_only)),
        (true, Some(s)) if !s.online => ("offline", td_string!(l, top.server_unreachable)),
        (true, Some(_)) => ("online", td_string!(l, top.online)),
        (true, None) => ("unknown", td_string!(l, top.checking)),
    })
}

/// Online/offline, when the last sync round finished (once enrolled), the number of changes
/// not yet acknowledged by the sync server (always), and a revoked device or refused changes
/// (when there are any).
#[component]
fn SyncIndicator() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let pending = move || app.sync.with(|s| s.as_ref().map(|s| s.pending_changes).unwrap_or(0));
    let revoked = move || app.sync.with(|s| s.as_ref().is_some_and(|s| s.revoked));
    let refused = move || {
        let count = app.sync.with(|s| s.as_ref().map_or(0, |s| s.refused.len()));
        (count > 0).then(|| fill(t_string!(i18n, top.refused), &[("count", &count)]))
    };
    let last_sync = move || {
        let status = app.sync.get().filter(|s| s.server_configured)?;
        Some(match status.last_sync_ms {
            Some(ms) => fill(t_string!(i18n, top.synced_at), &[("time", &time::show_recent_ms(ms, time::now_ms()))]),
            None => t_string!(i18n, top.never_synced).to_owned(),
        })
    };
    // A round running now (a tablet's first sync can take a while): how far it has got.
    let progress = move || {
        let p = app.sync.get().and_then(|s| s.progress)?;
        Some(fill(
            t_string!(i18n, top.syncing),
            &[("pushed", &p.pushed.to_string()), ("received", &p.received.to_string())],
        ))
    };
    view! {
        <div class="sync">
            <span class=move || format!("conn conn-{}", connection(i18n.get_locale(), app).0) data-testid="online-status">
                <span class="dot" aria-hidden="true"></span>
                {move || connection(i18n.get_locale(), app).1}
            </span>
            {move || last_sync().map(|text| view! { <span class="last-sync" data-testid="last-sync">{text}</span> })}
            {move || progress().map(|text| view! { <span class="sync-progress" data-testid="sync-progress">{text}</span> })}
            <Show when=revoked>
                <span class="sync-problem" data-testid="device-revoked">{t!(i18n, top.revoked)}</span>
            </Show>
            {move || refused().map(|text| view! { <span class="sync-problem" data-testid="refused-count">{text}</span> })}
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
