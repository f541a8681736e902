//! dockchat: realtime docked chat for Moodle (library crate behind `dockchatd`).

pub mod check;
pub mod store;
