//! Storage: the Moodle schema subset and the block tables (XMLDB).

pub mod moodle_schema;
pub mod xmldb;
