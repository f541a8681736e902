//! Running the daemon: its configuration ([`config`]), its counters for `/metrics` ([`metrics`]),
//! its systemd integration ([`systemd`]), and the `dockchatd check` diagnosis ([`check`]).

pub mod check;
pub mod config;
pub mod metrics;
pub mod systemd;
