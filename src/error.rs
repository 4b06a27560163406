//! The crate's one error type. Errors flow in one direction: storage and SQL code build
//! `Error`s, the TableProvider seam wraps them in `DataFusionError::External`, and the wire
//! layer turns either into a SQLSTATE in one `match` (`wire::error`).
//!
//! Each kind says who is at fault: the client (`InvalidInput`, `NotFound`, ...), the disk
//! (`Corruption`, `Io`), or Grizzly itself (`Internal`, which is always a bug).

use std::fmt::Display;

/// A Grizzly error. The SQLSTATE a client sees is chosen from the kind alone.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SQL text could not be parsed (42601).
    #[error("{0}")]
    Syntax(String),
    /// A value does not fit its type, e.g. `'abc'` for an integer (22P02).
    #[error("{0}")]
    InvalidValue(String),
    /// A value of the wrong type for its target, e.g. a boolean into an integer (42804).
    #[error("{0}")]
    TypeMismatch(String),
    /// A number too large for its type (22003).
    #[error("{0}")]
    OutOfRange(String),
    /// A NOT NULL column was given a NULL (23502).
    #[error("{0}")]
    NotNullViolation(String),
    /// A string longer than its varchar(n) column (22001).
    #[error("{0}")]
    StringTooLong(String),
    /// Malformed COPY input; the message names the line (22P04).
    #[error("{0}")]
    BadCopyFile(String),
    /// No such table (42P01).
    #[error("{0}")]
    UndefinedTable(String),
    /// No such column (42703).
    #[error("{0}")]
    UndefinedColumn(String),
    /// The table already exists (42P07).
    #[error("{0}")]
    DuplicateTable(String),
    /// The column already exists (42701).
    #[error("{0}")]
    DuplicateColumn(String),
    /// A concurrent change made this statement's plan stale; retrying it succeeds (40001).
    #[error("{0}")]
    SerializationFailure(String),
    /// No such function (42883).
    #[error("{0}")]
    UndefinedFunction(String),
    /// No such object other than a table or column, e.g. a setting (42704).
    #[error("{0}")]
    UndefinedObject(String),
    /// An object (a role) that exists already (42710).
    #[error("{0}")]
    DuplicateObject(String),
    /// The session's role may not do this (42501).
    #[error("{0}")]
    InsufficientPrivilege(String),
    /// The object is in use and cannot be changed that way (55006).
    #[error("{0}")]
    ObjectInUse(String),
    /// A cursor name that does not exist (34000).
    #[error("{0}")]
    InvalidCursor(String),
    /// DECLARE of a cursor name already open (42P03).
    #[error("{0}")]
    DuplicateCursor(String),
    /// A statement that needs a transaction block outside one (25P01).
    #[error("{0}")]
    NoActiveTransaction(String),
    /// An object not in the state the statement needs, such as a forward-only cursor
    /// asked to move backward (55000).
    #[error("{0}")]
    NotInPrerequisiteState(String),
    /// EXECUTE or DEALLOCATE of a statement never prepared (26000).
    #[error("{0}")]
    UndefinedPreparedStatement(String),
    /// A change that would leave a table's definition invalid (42P16).
    #[error("{0}")]
    InvalidTableDefinition(String),
    /// Any other mistake in what the client asked for (22023 / 42601 family).
    #[error("{0}")]
    InvalidInput(String),
    /// Valid SQL that Grizzly does not do yet (0A000).
    #[error("{0}")]
    Unsupported(String),
    /// Data on disk failed a checksum or could not be decoded; names the file.
    #[error("{0}")]
    Corruption(String),
    /// A backup store (S3, R2, MinIO, a directory) refused or failed a request; the
    /// message says which and what to check, never a credential (58030).
    #[error("{0}")]
    Store(String),
    /// The client cancelled the statement (57014).
    #[error("canceling statement due to user request")]
    QueryCanceled,
    /// The statement ran longer than the session's `statement_timeout` (57014).
    #[error("canceling statement due to statement timeout")]
    StatementTimeout,
    /// An operating-system I/O error.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// An error from DataFusion while planning or running a query; the wire layer looks
    /// inside it to pick the SQLSTATE.
    #[error("{0}")]
    Query(#[from] datafusion::error::DataFusionError),
    /// A bug in Grizzly.
    #[error("internal error (this is a bug): {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Builds an `Error::InvalidInput` from a format string.
#[macro_export]
macro_rules! errinput {
    ($($args:tt)*) => { $crate::error::Error::InvalidInput(format!($($args)*)) };
}

/// Builds an `Error::Internal` from a format string.
#[macro_export]
macro_rules! errinternal {
    ($($args:tt)*) => { $crate::error::Error::Internal(format!($($args)*)) };
}

/// Builds an `Error::Corruption` from a format string.
#[macro_export]
macro_rules! errcorrupt {
    ($($args:tt)*) => { $crate::error::Error::Corruption(format!($($args)*)) };
}

impl Error {
    /// Adds context (a file name, an operation) in front of an I/O error's message.
    pub fn io_context(err: std::io::Error, context: impl Display) -> Error {
        Error::Io(std::io::Error::new(err.kind(), format!("{context}: {err}")))
    }
}

impl From<arrow::error::ArrowError> for Error {
    fn from(err: arrow::error::ArrowError) -> Self {
        Error::Internal(format!("arrow: {err}"))
    }
}

impl From<parquet::errors::ParquetError> for Error {
    fn from(err: parquet::errors::ParquetError) -> Self {
        Error::Internal(format!("parquet: {err}"))
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::Internal(format!("json: {err}"))
    }
}

impl From<Error> for datafusion::error::DataFusionError {
    fn from(err: Error) -> Self {
        match err {
            Error::Query(inner) => inner,
            other => datafusion::error::DataFusionError::External(Box::new(other)),
        }
    }
}
