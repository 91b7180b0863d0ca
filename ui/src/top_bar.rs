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
use crate::messages::fill;
use crate::state::{use_app, AppState, Page};
use crate::time;
use crate::widgets::Icon;
use leptos::prelude::*;
use leptos::task::spawn_local;

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
                <SyncDetail/>
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

/// Online/offline, the number of changes not yet acknowledged by the sync server (always), and
/// a revoked device or refused changes (when there are any): what stays on the bar at any width.
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
    view! {
        <div class="sync">
            <span class=move || format!("conn conn-{}", connection(i18n.get_locale(), app).0) data-testid="online-status">
                <span class="dot" aria-hidden="true">
                    <Icon name=Signal::derive(move || icons::sync_state(connection(i18n.get_locale(), app).0)) class="conn-icon"/>
                </span>
                <span class="conn-text">{move || connection(i18n.get_locale(), app).1}</span>
            </span>
            <Show when=revoked>
                <span class="sync-problem" data-testid="device-revoked">{t!(i18n, top.revoked)}</span>
            </Show>
            {move || refused().map(|text| view! { <span class="sync-problem" data-testid="refused-count"><Icon name="triangle-alert"/>{text}</span> })}
            <span class=move || { if pending() > 0 { "pending has-pending" } else { "pending" } }>
                <Icon name="cloud-upload" class="pending-icon"/>
                <span data-testid="pending-count">{pending}</span>
                " "
                <span class="pending-suffix">{t!(i18n, top.pending_suffix)}</span>
            </span>
        </div>
    }
}

/// When the last sync round finished (once enrolled) and how far a round running now has got
/// (a tablet's first sync can take a while): on the bar when it is wide, in the menu otherwise.
#[component]
fn SyncDetail() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let last_sync = move || {
        let status = app.sync.get().filter(|s| s.server_configured)?;
        Some(match status.last_sync_ms {
            Some(ms) => fill(t_string!(i18n, top.synced_at), &[("time", &time::show_recent_ms(ms, time::now_ms()))]),
            None => t_string!(i18n, top.never_synced).to_owned(),
        })
    };
    let progress = move || {
        let p = app.sync.get().and_then(|s| s.progress)?;
        Some(fill(
            t_string!(i18n, top.syncing),
            &[("pushed", &p.pushed.to_string()), ("received", &p.received.to_string())],
        ))
    };
    view! {
        <div class="sync-detail">
            {move || last_sync().map(|text| view! { <span class="last-sync" data-testid="last-sync">{text}</span> })}
            {move || progress().map(|text| view! { <span class="sync-progress" data-testid="sync-progress" title=text.clone()>{text.clone()}</span> })}
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
