//! The screens: sign-in, the permit list, the permit form (new or draft) and a permit's detail
//! with the actions its status allows.

pub mod actions;
pub mod detail;
pub mod form;
pub mod list;
pub mod sign_in;
