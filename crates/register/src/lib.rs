//! The register's files: people and certificates imported from CSV or XLSX, checked row by row
//! before anything is written ([`import`]); a regulator's certificate export compared with the
//! register ([`crosscheck`]); the certificate holding statistics written as an XLSX workbook
//! ([`report`]).
//!
//! Nothing here writes the registry: an import is a list of registry changes the sync server
//! checks and signs, all of them or none. Every problem names its row (as the spreadsheet
//! numbers it, the header being row 1) and its column (by the header's text).

pub mod crosscheck;
pub mod import;
pub mod report;
pub mod sheet;

pub use crosscheck::{cross_check, Mismatch};
pub use import::{plan_certificates, plan_people, ImportPlan, ImportProblem, RowProblem};
pub use report::statistics_xlsx;
pub use sheet::{Cell, Sheet, SheetError};
