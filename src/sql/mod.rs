//! The SQL session: parses statements and routes each one. DataFusion plans and runs
//! queries and INSERTs against Grizzly's catalog; Grizzly runs CREATE/ALTER/DROP TABLE,
//! COPY, SET/SHOW and the transaction statements itself. `session.rs` holds the routing,
//! `ddl.rs`, `alter.rs`, `copy*.rs` and `settings.rs` the statements Grizzly runs itself.

mod alter;
mod backup;
mod client_queries;
pub mod copy;
mod copy_binary;
mod copy_convert;
mod copy_in;
mod copy_parse;
mod cursors;
pub mod ddl;
mod dialect;
mod functions;
mod insert_checks;
mod insert_values;
pub mod introspection;
mod maintenance;
mod naming;
mod notices;
mod numbers;
mod parameters;
mod rewrite;
mod roles;
mod session;
pub mod settings;
mod sources;
mod time_travel;

pub use copy_in::CopyIn;
pub use notices::{NoticeSender, Notices};
pub use session::{Outcome, Prepared, Session};
