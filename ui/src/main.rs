//! ptw-ui: the openptw user interface (Leptos CSR, running in the Tauri webview).
//!
//! Pages compose small components; the back end is reached only through [`api`]; every text a
//! person reads comes from `locales/*.json` (zh-CN first, English second), and domain data
//! (rules, alerts, statuses) becomes words in one place, [`messages`].

mod api;
mod datetime;
mod device_memory;
mod icons;
mod messages;
mod pages;
mod state;
mod time;
mod top_bar;
mod widgets;

// Generates `mod i18n` (Locale, I18nContextProvider, use_i18n, t!) from
// `[package.metadata.leptos-i18n]` in Cargo.toml and `locales/*.json`. leptos_i18n 0.6 prefers
// a build.rs code generator, but that pulls a large native dependency tree (ICU data export,
// an HTTP client); the macro reads the same files with none of it. build.rs re-runs on changes.
#[allow(deprecated)]
mod translations {
    leptos_i18n::load_locales!();
}
pub use translations::i18n;

use i18n::*;
use leptos::prelude::*;
use leptos::task::spawn_local;
use state::{use_app, AppState, Page};
use std::time::Duration;

/// How often the top bar asks for the sync status (pending changes, server reachable).
const SYNC_POLL: Duration = Duration::from_secs(3);
/// How often the inbox is computed again, for the alerts that come due with time.
const INBOX_POLL: Duration = Duration::from_secs(5);

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    // The app's language is its own setting (zh-CN unless the user switches), not the
    // webview's navigator.languages, which is what <I18nContextProvider> would follow.
    // A sub-context without a parent starts from `initial_locale`.
    let initial_locale = Signal::stored(Locale::default());
    view! {
        <I18nSubContextProvider initial_locale=initial_locale>
            <Shell/>
        </I18nSubContextProvider>
    }
}

#[component]
fn Shell() -> impl IntoView {
    let i18n = use_i18n();
    let app = AppState::new();
    provide_context(app);

    // <html lang> picks the right CJK glyphs and tells assistive tech the language.
    Effect::new(move |_| {
        let lang = i18n.get_locale().as_str();
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("lang", lang);
        }
    });

    app.load_directory();
    spawn_local(async move {
        if let Ok(session) = api::session().await {
            app.session.set(session);
        }
        app.session_checked.set(true);
    });
    app.refresh_sync();
    let poll = set_interval_with_handle(move || app.refresh_sync(), SYNC_POLL).ok();
    // Time-based alerts come due with no write and no sync: the inbox is asked for again on
    // its own timer, after each sync round and whenever someone signs in or out.
    let alerts = set_interval_with_handle(move || app.refresh_inbox(), INBOX_POLL).ok();
    api::on_sync_round(move || {
        app.refresh_sync();
        app.refresh_inbox();
    });
    Effect::new(move |_| {
        app.session.track();
        app.refresh_inbox();
    });
    on_cleanup(move || {
        if let Some(handle) = poll {
            handle.clear();
        }
        if let Some(handle) = alerts {
            handle.clear();
        }
    });
    // "Sync when the network returns": the back end's timer would get there too, later.
    let online = window_event_listener(leptos::ev::online, move |_| app.network_returned());
    let offline = window_event_listener(leptos::ev::offline, move |_| app.browser_online.set(false));
    on_cleanup(move || {
        online.remove();
        offline.remove();
    });

    // People, locations and the catalog arrive through sync: read them again after each round
    // that finished (the first enrolment brings the plant's whole directory).
    // (None until the first status arrives: the directory was just read at start-up.)
    let last_sync = Memo::new(move |_| app.sync.with(|s| s.as_ref().map(|s| s.last_sync_ms)));
    Effect::new(move |seen: Option<Option<Option<i64>>>| {
        let now = last_sync.get();
        if let (Some(Some(before)), Some(after)) = (seen, now) {
            if before != after {
                app.load_directory();
            }
        }
        now
    });

    view! {
        <top_bar::TopBar/>
        <pages::alerts::CriticalAlarm/>
        <main>
            <Body/>
        </main>
    }
}

/// The settings sheet when open, over the page underneath (kept mounted, only hidden).
#[component]
fn Body() -> impl IntoView {
    let app = use_app();
    view! {
        <div class="page" class:hidden=move || app.settings_open.get()>
            <CurrentPage/>
        </div>
        <Show when=move || app.settings_open.get()>
            <pages::settings::Settings/>
        </Show>
    }
}

/// The page for the current state: sign-in until someone is signed in, then the page chosen.
#[component]
fn CurrentPage() -> impl IntoView {
    let app = use_app();
    move || {
        if !app.session_checked.get() {
            return view! { <widgets::Loading/> }.into_any();
        }
        if app.session.with(Option::is_none) {
            return view! { <pages::sign_in::SignIn/> }.into_any();
        }
        match app.page.get() {
            Page::List => view! { <pages::list::PermitList/> }.into_any(),
            Page::NewPermit => view! { <pages::form::PermitFormPage editing=None/> }.into_any(),
            Page::EditDraft(id) => view! { <pages::form::PermitFormPage editing=Some(id)/> }.into_any(),
            Page::Detail(id) => view! { <pages::detail::PermitDetail id=id/> }.into_any(),
            Page::Calendar => view! { <pages::calendar::PlannedWork/> }.into_any(),
            Page::Certificates => view! { <pages::certificates::Certificates/> }.into_any(),
            Page::Admin => view! { <pages::admin::Admin/> }.into_any(),
            Page::Alerts => view! { <pages::alerts::AlertInbox/> }.into_any(),
        }
    }
}
