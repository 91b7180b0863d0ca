//! What this tablet remembers for a person between permits, in the webview's `localStorage`:
//! the gas tester's instrument and sampling point, so the next test on this device starts with
//! them filled in.
//!
//! Only conveniences live here, never records: nothing read back is trusted or signed, a
//! missing or unreadable entry is simply an empty form, and the entries stay on this device
//! (keyed by the person's id, so two testers sharing a tablet each get their own).

use ptw_core::PersonId;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    // `catch`: storage may be switched off or full; that only means nothing is remembered.
    #[wasm_bindgen(catch, js_namespace = localStorage, js_name = getItem)]
    fn get_item(key: &str) -> Result<Option<String>, JsValue>;
    #[wasm_bindgen(catch, js_namespace = localStorage, js_name = setItem)]
    fn set_item(key: &str, value: &str) -> Result<(), JsValue>;
}

/// The instrument and sampling point a person used for their last gas test on this device.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GasTestSetup {
    pub instrument: String,
    pub point: String,
}

fn gas_key(person: PersonId) -> String {
    format!("openptw.gas-test-setup.{person}")
}

pub fn gas_test_setup(person: PersonId) -> GasTestSetup {
    get_item(&gas_key(person)).ok().flatten().and_then(|json| serde_json::from_str(&json).ok()).unwrap_or_default()
}

pub fn remember_gas_test_setup(person: PersonId, setup: &GasTestSetup) {
    if let Ok(json) = serde_json::to_string(setup) {
        let _ = set_item(&gas_key(person), &json);
    }
}
