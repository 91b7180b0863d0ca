//! The only door from the UI to the back end: typed wrappers over Tauri's `invoke`.
//!
//! Components call the functions of this module, never `invoke` directly. Each command takes
//! its arguments as one JSON object whose keys are the Rust parameter names (the commands use
//! `rename_all = "snake_case"`) and answers JSON, or rejects with a serialized
//! [`CommandError`]. Values cross as JSON text (`JSON.parse` / `JSON.stringify`), so the UI
//! reads exactly what serde_json wrote on the other side — the same types, compiled from
//! `ptw_core::api`, on both ends.

use ptw_core::api::{
    Action, CommandError, Directory, Inbox, ListQuery, PermitSummary, PermitView, Session, SyncStatus,
};
use ptw_core::event::PhotoPhase;
use ptw_core::sync::AdminChange;
use ptw_core::{PermitForm, PermitId, PersonId, Status};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::json;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `window.__TAURI__.core.invoke` (present because `app.withGlobalTauri` is true).
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = invoke, catch)]
    async fn tauri_invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;

    /// `invoke` with options (request headers): a raw body goes with them.
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = invoke, catch)]
    async fn tauri_invoke_with(cmd: &str, args: JsValue, options: JsValue) -> Result<JsValue, JsValue>;

    /// `window.__TAURI__.event.listen`.
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "event"], js_name = listen, catch)]
    async fn tauri_listen(event: &str, handler: &Closure<dyn FnMut(JsValue)>) -> Result<JsValue, JsValue>;
}

/// The event the back end emits after every sync round (`SYNC_ROUND_EVENT` of the app).
const SYNC_ROUND_EVENT: &str = "sync-round";

/// Runs `f` after every sync round of the back end, for the life of the window: what a round
/// brought shows at once, not at the next poll.
pub fn on_sync_round(mut f: impl FnMut() + 'static) {
    let handler = Closure::<dyn FnMut(JsValue)>::new(move |_| f());
    wasm_bindgen_futures::spawn_local(async move {
        // Outside Tauri there are no events; the poll still runs.
        let _ = tauri_listen(SYNC_ROUND_EVENT, &handler).await;
        // Listened to until the window closes.
        handler.forget();
    });
}

/// What every command answers on failure. A failure to reach the back end at all (outside
/// Tauri, a panic in a command, arguments it could not read) becomes `Internal` with the
/// message Tauri gave, so the UI has one error type to translate.
pub type ApiResult<T> = Result<T, CommandError>;

fn internal(message: impl Into<String>) -> CommandError {
    CommandError::Internal { message: message.into() }
}

/// A JS value as JSON text, if it can be written as JSON.
fn to_json_text(value: &JsValue) -> Option<String> {
    js_sys::JSON::stringify(value).ok().and_then(|s| s.as_string())
}

/// Reads a rejection: a serialized `CommandError`, else whatever text it carries.
fn read_rejection(value: JsValue) -> CommandError {
    if let Some(text) = value.as_string() {
        // Tauri's own failures (unknown command, unreadable arguments) are plain strings.
        return serde_json::from_str(&text).unwrap_or_else(|_| internal(text));
    }
    if let Some(err) = value.dyn_ref::<js_sys::Error>() {
        return internal(String::from(err.message()));
    }
    match to_json_text(&value) {
        Some(text) => serde_json::from_str(&text).unwrap_or_else(|_| internal(text)),
        None => internal(format!("{value:?}")),
    }
}

/// Calls command `cmd` with `args` (a JSON object) and decodes its answer.
async fn call<R: DeserializeOwned>(cmd: &str, args: serde_json::Value) -> ApiResult<R> {
    let text = serde_json::to_string(&args).map_err(|e| internal(e.to_string()))?;
    let args = js_sys::JSON::parse(&text).map_err(read_rejection)?;
    call_js(cmd, args).await
}

/// Calls command `cmd` with `args` already built as a JS object, and decodes its answer.
async fn call_js<R: DeserializeOwned>(cmd: &str, args: JsValue) -> ApiResult<R> {
    let answer = tauri_invoke(cmd, args).await.map_err(read_rejection)?;
    read_answer(cmd, answer)
}

fn read_answer<R: DeserializeOwned>(cmd: &str, answer: JsValue) -> ApiResult<R> {
    // `()` comes back as null/undefined; serde_json reads "null" as unit and as None.
    let text = if answer.is_undefined() {
        "null".to_owned()
    } else {
        to_json_text(&answer).unwrap_or_else(|| "null".to_owned())
    };
    serde_json::from_str(&text).map_err(|e| internal(format!("{cmd}: unexpected answer: {e}")))
}

fn arg<T: Serialize>(value: &T) -> serde_json::Value {
    // Our argument types are plain data; serialising them cannot fail.
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// The catalog, the people and the locations (available before anyone signs in).
pub async fn directory() -> ApiResult<Directory> {
    call("directory", json!({})).await
}

pub async fn sign_in(person_id: PersonId, pin: String) -> ApiResult<Session> {
    call("sign_in", json!({ "person_id": arg(&person_id), "pin": pin })).await
}

pub async fn sign_out() -> ApiResult<()> {
    call("sign_out", json!({})).await
}

/// Who is signed in on this device, if anyone (survives a reload of the webview).
pub async fn session() -> ApiResult<Option<Session>> {
    call("session", json!({})).await
}

/// A page of the list; the back end marks the rows whose turn it is for whoever is signed in.
pub async fn list_permits(query: ListQuery) -> ApiResult<Vec<PermitSummary>> {
    call("list_permits", json!({ "query": arg(&query) })).await
}

pub async fn inbox() -> ApiResult<Inbox> {
    call("inbox", json!({})).await
}

pub async fn plant_alerts() -> ApiResult<Inbox> {
    call("plant_alerts", json!({})).await
}

pub async fn status_counts() -> ApiResult<Vec<(Status, u64)>> {
    call("status_counts", json!({})).await
}

pub async fn get_permit(id: PermitId) -> ApiResult<PermitView> {
    call("get_permit", json!({ "id": arg(&id) })).await
}

/// Revises a rejected permit: a new draft with its form, linked to it (the applicant only).
pub async fn revise_permit(id: PermitId) -> ApiResult<PermitView> {
    call("revise_permit", json!({ "id": arg(&id) })).await
}

/// Copies a permit as a template: a new draft of the signed-in person's, without its dates,
/// signatures or gas tests.
pub async fn copy_permit(id: PermitId) -> ApiResult<PermitView> {
    call("copy_permit", json!({ "id": arg(&id) })).await
}

/// Saves a new draft; the back end makes the signed-in person its applicant.
pub async fn create_permit(form: &PermitForm) -> ApiResult<PermitView> {
    call("create_permit", json!({ "form": arg(form) })).await
}

pub async fn update_draft(id: PermitId, form: &PermitForm) -> ApiResult<PermitView> {
    call("update_draft", json!({ "id": arg(&id), "form": arg(form) })).await
}

/// Asks the back end to record `action` on the permit; a rule that refuses it comes back as
/// `CommandError::Refused` and nothing is written.
pub async fn act(permit_id: PermitId, action: &Action) -> ApiResult<PermitView> {
    call("act", json!({ "permit_id": arg(&permit_id), "action": arg(action) })).await
}

/// Writes the certificate holding statistics as XLSX to the downloads folder, headed in
/// `locale`; the path written. Refused for those who do not oversee the plant's certificates.
pub async fn export_certificate_report(locale: String) -> ApiResult<String> {
    call("export_certificate_report", json!({ "locale": locale })).await
}

/// Unlocks the admin screen with the signed-in admin's PIN (checked on this device, with the
/// wrong-PIN limits); `NotAllowed` for someone without the admin role or frozen.
pub async fn admin_unlock(pin: String) -> ApiResult<()> {
    call("admin_unlock", json!({ "pin": pin })).await
}

/// Locks the admin screen again (the PIN is forgotten).
pub async fn admin_lock() -> ApiResult<()> {
    call("admin_lock", json!({})).await
}

/// A fresh id for a person being added.
pub async fn new_person_id() -> ApiResult<PersonId> {
    call("new_person_id", json!({})).await
}

/// Makes `change` in the register through the sync server (online only); the directory after
/// it. `AdminLocked` when the screen must be unlocked again, `NotAllowed` when the server no
/// longer takes the admin's PIN, `RegistryRefused` with the problem when the change cannot be
/// made, `Sync` when the server cannot be reached — nothing changed then.
pub async fn admin_change(change: &AdminChange) -> ApiResult<Directory> {
    call("admin_change", json!({ "change": arg(change) })).await
}

/// `text` drawn as an SVG QR code (a permit's, a badge's, a poster's).
pub async fn qr_svg(text: String) -> ApiResult<String> {
    call("qr_svg", json!({ "text": text })).await
}

pub async fn sync_status() -> ApiResult<SyncStatus> {
    call("sync_status", json!({})).await
}

/// Enrols this device with a sync server. `code` is the one-time code IT printed, or the whole
/// text of its QR code (`openptw-enrol:<url>#<code>#<server key>#<certificate fingerprint>`),
/// which the back end reads itself, pinning the key and fingerprint; `url` is then not used.
/// Fails with `CommandError::Sync` saying why.
pub async fn enrol_device(url: String, code: String) -> ApiResult<()> {
    call("enrol_device", json!({ "url": url, "code": code })).await
}

/// A sync round now: answers when it has finished (or after a minute) with the sync status it
/// left — whether it reached the server, and if not, why.
pub async fn sync_now() -> ApiResult<SyncStatus> {
    call("sync_now", json!({})).await
}

/// The text of the QR code in a picture: `image` is the whole PNG or JPEG file (a photo from the
/// camera, a screenshot). Fails with `CommandError::Qr` when it is not a picture or holds no
/// readable code.
/// A photo of permit `permit` showing `phase`, as the camera made it: the bytes go as the raw
/// body of the request (a typed array, not JSON), the permit and phase as its headers.
pub async fn add_photo(permit: PermitId, phase: PhotoPhase, bytes: &[u8]) -> ApiResult<PermitView> {
    let headers = js_sys::Object::new();
    let set = |o: &js_sys::Object, k: &str, v: &JsValue| js_sys::Reflect::set(o, &JsValue::from_str(k), v);
    set(&headers, "x-openptw-permit", &JsValue::from_str(&permit.to_string())).map_err(read_rejection)?;
    set(&headers, "x-openptw-phase", &JsValue::from_str(phase.code())).map_err(read_rejection)?;
    let options = js_sys::Object::new();
    set(&options, "headers", &headers).map_err(read_rejection)?;
    let body = js_sys::Uint8Array::from(bytes);
    let answer = tauri_invoke_with("add_photo", body.into(), options.into()).await.map_err(read_rejection)?;
    read_answer("add_photo", answer)
}

/// Keep the pad's drawing (a PNG data URL); the hash that names it.
pub async fn put_signature(data_url: &str) -> ApiResult<String> {
    call("put_signature", json!({ "data_url": data_url })).await
}

/// [`act`] with a handwritten signature kept by [`put_signature`].
pub async fn act_signed(permit_id: PermitId, action: &Action, handwriting: &str) -> ApiResult<PermitView> {
    call("act_signed", json!({ "permit_id": arg(&permit_id), "action": arg(action), "handwriting": handwriting })).await
}

/// A photo, thumbnail or signature image by its hash, as a data URL for an `<img>`.
pub async fn blob_image(hash: &str) -> ApiResult<String> {
    call("blob_image", json!({ "hash": hash })).await
}

pub async fn decode_qr(image: &[u8]) -> ApiResult<String> {
    // Not through serde_json::Value: a photo of a few MB would be millions of JSON values in wasm
    // memory. The bytes go as a JS array of numbers, which the command reads as its `Vec<u8>`.
    let bytes = js_sys::Array::from(&js_sys::Uint8Array::from(image));
    let args = js_sys::Object::new();
    js_sys::Reflect::set(&args, &JsValue::from_str("image"), &bytes).map_err(read_rejection)?;
    call_js("decode_qr", args.into()).await
}
