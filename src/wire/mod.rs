//! The PostgreSQL wire protocol, on pgwire: startup, simple and extended query, COPY
//! FROM STDIN and TO STDOUT (`copy_out.rs`). `startup.rs` authenticates and opens the session, `handler.rs` adapts pgwire's handler traits to a `sql::Session`;
//! `types.rs` encodes results (`format.rs` writes the values), `params.rs` decodes
//! parameters, `error.rs` picks SQLSTATEs.

mod copy_out;
pub mod error;
mod format;
mod handler;
pub mod idle;
mod params;
mod running;
mod startup;
pub mod types;

pub use handler::ConnectionHandlers;
pub use pgwire::api::ConnectionManager;
pub use startup::Authenticator;
