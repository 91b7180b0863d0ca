//! The bar on every screen: app name, online/offline, when this device last synced, changes
//! waiting to sync, who is signed in, the settings and the language switch. On a plant tablet
//! a person must always see whether what they record has left the device yet — and whether the
//! device was revoked or the server refused some of it (the settings say why).
//!
//! The bar is one row at every width. On a narrow screen (a tablet held upright, 1024 px and
//! less) the connection and the pending changes stay on it, and the rest — last sync, the
//! person and signing out, the settings, the language — folds into a menu under a button that
//! shows who is signed in; on a wide one the menu is laid out in the bar itself (main.css).

use crate::api;
use crate::i18n::*;
use crate::icons;
use crate::messages::{fill, sync_failure_text};
use crate::state::{use_app, AppState, Page};
use crate::time;
use crate::widgets::Icon;
use leptos::prelude::*;
use leptos::task::spawn_local;
use ptw_core::api::SyncFailure;

#[component]
pub fn TopBar() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    // On a narrow screen the person, the settings and the language sit in a menu under one
    // button, so the bar stays one row; on a wide one the menu is laid out in the bar itself.
    let menu_open = RwSignal::new(false);
    let close_menu = move || menu_open.set(false);
    let toggle_language = move |_| {
        let next = match i18n.get_locale_untracked() {
            Locale::en => Locale::zh_CN,
            _ => Locale::en,
        };
        i18n.set_locale(next);
        close_menu();
    };
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            close_menu();
        }
    });
    on_cleanup(move || escape.remove());
    let person = move || app.session.with(|s| s.as_ref().map(|s| s.person.name.clone()));
    view! {
        <header class="app-bar" class:menu-open=move || menu_open.get()>
            <h1 id="app-title">{t!(i18n, app_title)}</h1>
            <SyncIndicator/>
            <crate::pages::alerts::InboxButton/>
            <button
                class="menu-toggle"
                data-testid="menu-toggle"
                aria-controls="app-menu"
                aria-expanded=move || menu_open.get().to_string()
                on:click=move |_| menu_open.update(|open| *open = !*open)
            >
                <Icon name=Signal::derive(move || if menu_open.get() { "x" } else { "menu" }) class="menu-icon"/>
                // Who is signed in stays on the bar; the word "menu" is there for screen readers.
                {move || match person() {
                    Some(name) => view! {
                        <span class="menu-person" data-testid="menu-person">{name}</span>
                        <span class="visually-hidden">{t!(i18n, top.menu)}</span>
                    }
                    .into_any(),
                    None => view! { <span>{t!(i18n, top.menu)}</span> }.into_any(),
                }}
            </button>
            <div class="bar-menu" id="app-menu" data-testid="app-menu">
                <SignedInPerson close_menu=Callback::new(move |()| close_menu())/>
                <button
                    class="open-settings"
                    class:active=move || app.settings_open.get()
                    data-testid="open-settings"
                    on:click=move |_| {
                        close_menu();
                        app.open_settings();
                    }
                >
                    <Icon name="settings"/>
                    {t!(i18n, top.settings)}
                </button>
                <button id="toggle-language" class="lang" data-testid="language-switch" on:click=toggle_language>
                    <Icon name="languages"/>
                    {t!(i18n, language)}
                </button>
            </div>
        </header>
        <Show when=move || menu_open.get()>
            <div class="menu-backdrop" aria-hidden="true" on:click=move |_| close_menu()></div>
        </Show>
    }
}

/// The one state the device's sync is in, as a CSS modifier and words — never two at once:
/// checking, revoked, standalone (no server), syncing, offline (no network, or the server cannot
/// be reached), a problem with its reason, synced (and when), enrolled but not synced yet.
pub fn sync_state(l: Locale, app: AppState) -> (&'static str, String) {
    let browser = app.browser_online.get();
    app.sync.with(|sync| {
        let Some(s) = sync else { return ("unknown", td_string!(l, top.checking).to_owned()) };
        if s.revoked {
            return ("error", td_string!(l, top.revoked).to_owned());
        }
        if !s.server_configured {
            return ("local", td_string!(l, top.local_only).to_owned());
        }
        if s.progress.is_some() {
            return ("syncing", td_string!(l, top.syncing_now).to_owned());
        }
        if !browser {
            return ("offline", td_string!(l, top.offline).to_owned());
        }
        match (&s.last_failure, s.last_sync_ms) {
            (Some(SyncFailure::Unreachable), _) => ("offline", td_string!(l, top.server_unreachable).to_owned()),
            (Some(f), _) => ("error", fill(td_string!(l, top.sync_error), &[("reason", &sync_failure_text(l, f))])),
            (None, Some(ms)) => {
                ("online", fill(td_string!(l, top.synced_at), &[("time", &time::show_recent_ms(ms, time::now_ms()))]))
            }
            (None, None) => ("unknown", td_string!(l, top.not_synced_yet).to_owned()),
        }
    })
}

/// The sync state, the changes not yet on the sync server (on an enrolled device), and the
/// changes it refused (when there are any): what stays on the bar at any width.
#[component]
fn SyncIndicator() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let enrolled = move || app.sync.with(|s| s.as_ref().is_some_and(|s| s.server_configured));
    let pending = move || app.sync.with(|s| s.as_ref().map(|s| s.pending_changes).unwrap_or(0));
    let revoked = move || app.sync.with(|s| s.as_ref().is_some_and(|s| s.revoked));
    let refused = move || {
        let count = app.sync.with(|s| s.as_ref().map_or(0, |s| s.refused.len()));
        (count > 0).then(|| fill(t_string!(i18n, top.refused), &[("count", &count)]))
    };
    let state = move || sync_state(i18n.get_locale(), app);
    view! {
        <div class="sync">
            <span
                class=move || format!("conn conn-{}", state().0)
                data-testid=move || if revoked() { "device-revoked" } else { "online-status" }
                data-state=move || state().0
                title=move || state().1
            >
                <span class="dot" aria-hidden="true">
                    <Icon name=Signal::derive(move || icons::sync_state(state().0)) class="conn-icon"/>
                </span>
                <span class="conn-text" data-testid="sync-state-text">{move || state().1}</span>
            </span>
            {move || refused().map(|text| view! { <span class="sync-problem" data-testid="refused-count"><Icon name="triangle-alert"/>{text}</span> })}
            <Show when=enrolled>
                <span class=move || { if pending() > 0 { "pending has-pending" } else { "pending" } }>
                    <Icon name="cloud-upload" class="pending-icon"/>
                    <span data-testid="pending-count">{pending}</span>
                    " "
                    <span class="pending-suffix">{t!(i18n, top.pending_suffix)}</span>
                </span>
            </Show>
        </div>
    }
}

#[component]
fn SignedInPerson(close_menu: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let sign_out = move |_| {
        close_menu.run(());
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
                    <button class="sign-out" data-testid="sign-out" on:click=sign_out><Icon name="log-out"/>{t!(i18n, top.sign_out)}</button>
                </div>
            }
        })
    }
}
