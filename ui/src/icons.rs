//! The visual language: which icon stands for what. One table per kind of thing — statuses,
//! work types, actions, the connection — so a symbol is chosen in one place and a status, say,
//! shows the same symbol on a list row, on the detail page and in a test.
//!
//! The icons are Lucide's (ISC licence, `ui/icons/LICENSE`): 24×24 strokes in `currentColor`,
//! embedded at build time with `include_str!`, so the window needs no image requests and the
//! content security policy stays as it is (inline SVG markup is not a script). A status or a
//! work type is never told by colour alone: each has its own symbol, for colour-blind eyes and
//! for screens washed out in sunlight.
//!
//! Work types are keyed by the catalog's permit type code. The catalog decides what types
//! exist; this table only draws them, and a type it does not know gets the generic clipboard.

use ptw_core::Status;

/// Every icon the UI draws, by its Lucide name (the file `ui/icons/<name>.svg`).
macro_rules! icon_set {
    ($($name:literal),* $(,)?) => {
        const ICONS: &[(&str, &str)] = &[$(($name, include_str!(concat!("../icons/", $name, ".svg")))),*];
    };
}

icon_set!(
    // top bar and navigation
    "plus",
    "calendar",
    // certificates
    "shield-check",
    // the admin screen, and scanning a badge at sign-in
    "users",
    "scan-line",
    // photos and handwritten signatures
    "camera",
    "signature",
    "eraser",
    "arrow-left",
    "log-out",
    // the entry log of a confined space
    "log-in",
    "settings",
    // alerts: the inbox and muting the alarm
    "bell",
    "volume-x",
    "languages",
    "menu",
    "x",
    // the connection and syncing
    "cloud",
    "cloud-check",
    "cloud-off",
    "cloud-upload",
    "hard-drive",
    "refresh-cw",
    "history",
    "triangle-alert",
    "shield-x",
    // statuses
    "pencil",
    "hourglass",
    "check",
    "play",
    "pause",
    "flag",
    "lock",
    "ban",
    // work types
    "flame",
    "cylinder",
    "arrow-up-from-line",
    "plug-zap",
    "weight",
    "shovel",
    "git-commit-horizontal",
    "construction",
    "clipboard-list",
    // actions
    "send",
    "check-check",
    "gauge",
    "file-pen",
    "message-square",
    // empty states and waiting
    "inbox",
    "search-x",
    "loader-circle",
);

/// Drawn when a name is not in the set: the generic clipboard, never nothing.
const FALLBACK: &str = "clipboard-list";

/// The SVG markup of icon `name` (or of the fallback, if the set lacks it).
pub fn svg(name: &str) -> &'static str {
    let find = |n: &str| ICONS.iter().find(|(k, _)| *k == n).map(|(_, svg)| *svg);
    find(name).or_else(|| find(FALLBACK)).unwrap_or_default()
}

/// The symbol of a status: a different shape for each, so a status reads without its colour.
pub fn status(status: Status) -> &'static str {
    match status {
        Status::Draft => "pencil",
        Status::InApproval => "hourglass",
        Status::Approved => "check",
        Status::Active => "play",
        Status::Suspended => "pause",
        Status::Completed => "flag",
        Status::Closed => "lock",
        Status::Rejected => "x",
        Status::Cancelled => "ban",
    }
}

/// Pictograms of the work types of GB 30871 (the catalog ships only some of them today), by the
/// catalog's permit type code. Their colours are in main.css, `.pictogram.work-<code>`.
const WORK_TYPES: &[(&str, &str)] = &[
    ("hot_work", "flame"),
    ("confined_space", "cylinder"),
    ("work_at_height", "arrow-up-from-line"),
    ("temporary_electrical", "plug-zap"),
    ("lifting", "weight"),
    ("excavation", "shovel"),
    ("line_blinding", "git-commit-horizontal"),
    ("road_closure", "construction"),
];

/// The pictogram of permit type `code`; a type this table does not know gets the clipboard.
pub fn work_type(code: &str) -> &'static str {
    WORK_TYPES.iter().find(|(c, _)| *c == code).map_or(FALLBACK, |(_, icon)| icon)
}

/// The CSS class that colours a work type's pictogram: its own for a known type, a neutral one
/// otherwise (a code from a newer catalog must not pick up some other type's colour).
pub fn work_type_class(code: &str) -> String {
    if WORK_TYPES.iter().any(|(c, _)| *c == code) {
        format!("work-{code}")
    } else {
        "work-other".to_owned()
    }
}

/// The symbol on the button of an action (the codes of `actions::action_code`). Where an action
/// leads to a status, it wears that status's symbol.
pub fn action(code: &str) -> &'static str {
    match code {
        "submit" => "send",
        "approve" => "check",
        "reject" => "x",
        "gas_test" => "gauge",
        "start" | "resume" => "play",
        "suspend" => "pause",
        "complete" => "flag",
        "accept" => "check-check",
        "cancel" => "ban",
        "comment" => "message-square",
        "edit" => "pencil",
        "revise" => "file-pen",
        "entry" | "take_over" | "check_in" => "log-in",
        "handover" | "check_out" => "log-out",
        "fire_watch_end" => "flame",
        _ => FALLBACK,
    }
}

/// The symbol of the device's sync state (the top bar's `conn-<state>` modifier).
pub fn sync_state(state: &str) -> &'static str {
    match state {
        "online" => "cloud-check",
        "offline" => "cloud-off",
        "local" => "hard-drive",
        "syncing" => "refresh-cw",
        "error" => "triangle-alert",
        _ => "cloud",
    }
}
