//! The app-wide state every page reads: who is signed in, the directory (catalog, people,
//! locations), which page is shown, and the sync status of the top bar.
//!
//! Routing is one signal ([`Page`]): the app runs in a single webview window with no address
//! bar or back button, so a URL router would only add a way to get out of step. Pages decide
//! their own data; this state only holds what several pages share.

use crate::api;
use leptos::prelude::*;
use leptos::task::spawn_local;
use ptw_core::api::{Directory, Session, SyncStatus};
use ptw_core::{PermitId, Registry};
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq)]
pub enum Page {
    List,
    NewPermit,
    EditDraft(PermitId),
    Detail(PermitId),
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
        }
    }

    pub fn go(&self, page: Page) {
        self.page.set(page);
        // A new page starts at its top, not where the last one was scrolled to.
        window().scroll_to_with_x_and_y(0.0, 0.0);
    }

    /// Reads the directory again (people and catalog change only through sync).
    pub fn load_directory(&self) {
        let directory = self.directory;
        spawn_local(async move {
            if let Ok(d) = api::directory().await {
                directory.set(Some(Arc::new(d)));
            }
        });
    }

    pub fn refresh_sync(&self) {
        let sync = self.sync;
        spawn_local(async move {
            if let Ok(s) = api::sync_status().await {
                sync.set(Some(s));
            }
        });
    }

    /// Something was written: lists, counts and the pending counter are stale.
    pub fn wrote(&self) {
        self.writes.update(|n| *n += 1);
        self.refresh_sync();
    }
}

pub fn use_app() -> AppState {
    expect_context::<AppState>()
}

/// The registry `PermitForm::validate` needs, from the directory (devices only matter for
/// checking event signatures, which the UI does not do).
pub fn registry(dir: &Directory) -> Registry {
    Registry {
        catalog: dir.catalog.clone(),
        people: dir.people.clone(),
        locations: dir.locations.clone(),
        devices: vec![],
    }
}
