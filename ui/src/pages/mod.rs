//! The screens: sign-in, the permit list, the permit form (new or draft), a permit's detail
//! with the actions its status allows, the calendar, certificates, the register for admins, and
//! the settings (sync state, enrolment).

pub mod actions;
pub mod admin;
pub mod alerts;
pub mod calendar;
pub mod certificates;
pub mod change;
pub mod detail;
pub mod form;
pub mod list;
pub mod photos;
pub mod presence;
pub mod settings;
pub mod sign_in;
pub mod signature;
