//! The app-wide state every page reads: who is signed in, the directory (catalog, people,
//! locations), which page is shown, and the sync status of the top bar.
//!
//! Routing is one signal ([`Page`]): the app runs in a single webview window with no address
//! bar or back button, so a URL router would only add a way to get out of step. Pages decide
//! their own data; this state only holds what several pages share.
//!
//! The settings are not a [`Page`] but a sheet over the current one (`settings_open`): they
//! are reachable before anyone signs in (IT enrols a tablet first), and closing them must give
//! back the page exactly as it was — a half-filled permit form included — so the page
//! underneath stays mounted, only hidden.

use crate::api;
use leptos::prelude::*;
use leptos::task::spawn_local;
use ptw_core::api::{Directory, Inbox, Session, SyncStatus};
use ptw_core::{PermitId, Registry};
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq)]
pub enum Page {
    List,
    NewPermit,
    EditDraft(PermitId),
    Detail(PermitId),
    /// The calendar of planned work.
    Calendar,
    /// Certificates: one's own, and for those who oversee them the plant's.
    Certificates,
    /// The register, for admins (online).
    Admin,
    /// The alerts the person signed in must act on.
    Alerts,
}

#[derive(Clone, Copy)]
pub struct AppState {
    pub directory: RwSignal<Option<Arc<Directory>>>,
    pub session: RwSignal<Option<Session>>,
    /// True once the session left from before a reload has been asked for.
    pub session_checked: RwSignal<bool>,
    pub page: RwSignal<Page>,
    pub sync: RwSignal<Option<SyncStatus>>,
    /// `navigator.onLine`, kept current by the browser's online/offline events.
    pub browser_online: RwSignal<bool>,
    /// Bumped after every write, so lists and counts read again.
    pub writes: RwSignal<u64>,
    /// The settings sheet is shown over the current page.
    pub settings_open: RwSignal<bool>,
    /// The alerts of the person signed in, as last computed by the back end.
    pub inbox: RwSignal<Option<Inbox>>,
    /// How far the page underneath was scrolled when the settings opened.
    settings_scroll: StoredValue<f64>,
}

impl AppState {
    pub fn new() -> Self {
        let online = window().navigator().on_line();
        AppState {
            directory: RwSignal::new(None),
            session: RwSignal::new(None),
            session_checked: RwSignal::new(false),
            page: RwSignal::new(Page::List),
            sync: RwSignal::new(None),
            browser_online: RwSignal::new(online),
            writes: RwSignal::new(0),
            settings_open: RwSignal::new(false),
            inbox: RwSignal::new(None),
            settings_scroll: StoredValue::new(0.0),
        }
    }

    pub fn go(&self, page: Page) {
        self.page.set(page);
        // A new page starts at its top, not where the last one was scrolled to.
        window().scroll_to_with_x_and_y(0.0, 0.0);
    }

    /// Opens the settings over whatever is shown, remembering how far it was scrolled.
    pub fn open_settings(&self) {
        if !self.settings_open.get_untracked() {
            self.settings_scroll.set_value(window().scroll_y().unwrap_or(0.0));
            self.settings_open.set(true);
            window().scroll_to_with_x_and_y(0.0, 0.0);
        }
    }

    /// Closes the settings: the page underneath is as it was left, scroll position included.
    pub fn close_settings(&self) {
        self.settings_open.set(false);
        let y = self.settings_scroll.get_value();
        // After the page underneath is shown again, or there is nothing to scroll.
        request_animation_frame(move || window().scroll_to_with_x_and_y(0.0, y));
    }

    /// Reads the directory again (people and catalog change only through sync). Pages drawn
    /// from it are drawn again only when it changed: a sync round that brought no registry
    /// change leaves a half-filled form as it is.
    pub fn load_directory(&self) {
        let directory = self.directory;
        spawn_local(async move {
            if let Ok(d) = api::directory().await {
                if directory.with_untracked(|current| current.as_deref() != Some(&d)) {
                    directory.set(Some(Arc::new(d)));
                }
            }
        });
    }

    pub fn refresh_sync(&self) {
        let sync = self.sync;
        spawn_local(async move {
            if let Ok(s) = api::sync_status().await {
                crate::time::set_trusted_now(s.now_ms);
                sync.set(Some(s));
            }
        });
    }

    /// The browser's `online` event: the network is back, so ask for a sync round now rather
    /// than at the back end's next timer tick.
    pub fn network_returned(&self) {
        self.browser_online.set(true);
        let app = *self;
        spawn_local(async move {
            // Not enrolled or already syncing: the back end decides; the status shows the outcome.
            match api::sync_now().await {
                Ok(status) => {
                    crate::time::set_trusted_now(status.now_ms);
                    app.sync.set(Some(status))
                }
                Err(_) => app.refresh_sync(),
            }
        });
    }

    /// Something was written: lists, counts and the pending counter are stale.
    pub fn wrote(&self) {
        self.writes.update(|n| *n += 1);
        self.refresh_sync();
        self.refresh_inbox();
    }

    /// Asks the back end for the alerts of the person signed in (computed at its trusted time);
    /// nobody signed in, none. Kept only when they changed, so nothing redraws for nothing.
    pub fn refresh_inbox(&self) {
        let inbox = self.inbox;
        if self.session.with_untracked(Option::is_none) {
            if inbox.with_untracked(Option::is_some) {
                inbox.set(None);
            }
            return;
        }
        spawn_local(async move {
            if let Ok(fresh) = api::inbox().await {
                let same = inbox
                    .with_untracked(|old| old.as_ref().is_some_and(|o| o.items == fresh.items && o.open == fresh.open));
                if !same {
                    inbox.set(Some(fresh));
                }
            }
        });
    }
}

pub fn use_app() -> AppState {
    expect_context::<AppState>()
}

/// The registry `PermitForm::validate` needs, from the directory (devices, certificates and
/// credentials only matter for checking events and PINs, which the UI does not do).
pub fn registry(dir: &Directory) -> Registry {
    Registry {
        catalog: dir.catalog.clone(),
        settings: dir.settings.clone(),
        people: dir.people.clone(),
        locations: dir.locations.clone(),
        certificates: dir.certificates.clone(),
        ..Registry::empty()
    }
}
