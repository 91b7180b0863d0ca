//! ptw-core: the domain of openptw — permits, the permit-type catalog, signed events and the pure
//! derivation of a permit's state from its events.
//!
//! This crate decides; it never does I/O, never reads the clock and never draws randomness, so the
//! same code runs on a tablet, a desktop, the sync server and in the wasm UI, and every rule is
//! tested as a plain function. Whoever calls it passes `now` and any fresh ids in.
//!
//! The shape every later feature inherits:
//! - a permit is a [`form::PermitForm`] plus an append-only list of [`event::SignedEvent`]s;
//! - its state is [`derive::derive`]`(form, events, registry, now)`: events are deduplicated by
//!   content, sorted by (hybrid logical clock, hash) and folded through one state machine whose
//!   steps, roles, time limits and gas limits come from [`catalog::Catalog`] *data*;
//! - the [`registry::Registry`] it is derived against is the fold of the server-signed
//!   registry log ([`authority`]), which no device can write;
//! - an event that breaks a rule is kept and reported with the [`rules::Violation`] it broke,
//!   never silently applied.

pub mod alerts;
pub mod api;
pub mod authority;
pub mod calendar;
pub mod catalog;
pub mod codes;
pub mod demo;
pub mod derive;
pub mod event;
pub mod form;
pub mod hlc;
pub mod ids;
pub mod offers;
pub mod qualification;
pub mod registry;
pub mod rules;
pub mod signature;
pub mod sync;

pub use catalog::{Catalog, GradeDef, PermitTypeDef, Role};
pub use derive::{derive, PermitState, Status};
pub use event::{Event, EventKind, GasReading, SignedEvent, Stamp, TimeTrust};
pub use form::{ChangeReason, FieldValue, PermitChange, PermitForm};
pub use hlc::Hlc;
pub use ids::{DeviceId, EventId, LocationId, PermitId, PersonId};
pub use registry::Registry;
pub use rules::Violation;
