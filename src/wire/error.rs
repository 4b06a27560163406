//! The one place errors become SQLSTATEs. Grizzly's own errors map by kind; DataFusion
//! and Arrow errors by their variants (never by message text).

use arrow::error::ArrowError;
use datafusion::common::SchemaError;
use datafusion::error::DataFusionError;
use pgwire::error::{ErrorInfo, PgWireError};

use crate::error::Error;

/// The ErrorResponse for an error.
pub fn to_pg(err: &Error) -> PgWireError {
    let (code, message) = classify(err);
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".into(),
        code.into(),
        message,
    )))
}

/// (SQLSTATE, message) for a Grizzly error.
pub fn classify(err: &Error) -> (&'static str, String) {
    let code = match err {
        Error::Syntax(_) => "42601",
        Error::InvalidValue(_) => "22P02",
        Error::OutOfRange(_) => "22003",
        Error::TypeMismatch(_) => "42804",
        Error::NotNullViolation(_) => "23502",
        Error::StringTooLong(_) => "22001",
        Error::BadCopyFile(_) => "22P04",
        Error::UndefinedTable(_) => "42P01",
        Error::UndefinedColumn(_) => "42703",
        Error::DuplicateTable(_) => "42P07",
        Error::DuplicateColumn(_) => "42701",
        Error::SerializationFailure(_) => "40001",
        Error::UndefinedObject(_) => "42704",
        Error::InvalidCursor(_) => "34000",
        Error::DuplicateCursor(_) => "42P03",
        Error::NoActiveTransaction(_) => "25P01",
        Error::NotInPrerequisiteState(_) => "55000",
        Error::DuplicateObject(_) => "42710",
        Error::InsufficientPrivilege(_) => "42501",
        Error::ObjectInUse(_) => "55006",
        Error::InvalidTableDefinition(_) => "42P16",
        Error::UndefinedPreparedStatement(_) => "26000",
        Error::UndefinedFunction(_) => "42883",
        Error::InvalidInput(_) => "22023",
        Error::Unsupported(_) => "0A000",
        Error::Corruption(_) => "XX001",
        Error::Io(_) | Error::Store(_) => "58030",
        Error::QueryCanceled | Error::StatementTimeout => "57014",
        Error::Internal(_) => "XX000",
        Error::Query(inner) => return classify_datafusion(inner),
    };
    (code, err.to_string())
}

fn classify_datafusion(err: &DataFusionError) -> (&'static str, String) {
    match err {
        DataFusionError::Context(_, inner) => classify_datafusion(inner),
        DataFusionError::Shared(inner) => classify_datafusion(inner),
        DataFusionError::Diagnostic(_, inner) => classify_datafusion(inner),
        DataFusionError::Collection(errors) => match errors.first() {
            Some(first) => classify_datafusion(first),
            None => ("XX000", err.to_string()),
        },
        DataFusionError::External(inner) => classify_boxed(inner.as_ref(), err),
        DataFusionError::ArrowError(inner, _) => classify_arrow(inner),
        DataFusionError::ParquetError(inner) => {
            ("XX001", format!("reading a block failed: {inner}"))
        }
        DataFusionError::SQL(inner, _) => ("42601", format!("syntax error: {inner}")),
        DataFusionError::SchemaError(inner, _) => match inner.as_ref() {
            SchemaError::FieldNotFound { field, .. } => {
                ("42703", format!("column \"{}\" does not exist", field.name))
            }
            SchemaError::AmbiguousReference { field } => (
                "42702",
                format!("column reference \"{}\" is ambiguous", field.name),
            ),
            _ => ("42701", inner.to_string()),
        },
        DataFusionError::Plan(message) => ("42000", message.clone()),
        DataFusionError::NotImplemented(message) => ("0A000", format!("not supported: {message}")),
        DataFusionError::ResourcesExhausted(message) => ("53200", message.clone()),
        DataFusionError::Execution(message) => ("22000", message.clone()),
        DataFusionError::IoError(inner) => ("58030", inner.to_string()),
        _ => ("XX000", err.to_string()),
    }
}

fn classify_boxed(
    inner: &(dyn std::error::Error + Send + Sync + 'static),
    outer: &DataFusionError,
) -> (&'static str, String) {
    if let Some(grizzly) = inner.downcast_ref::<Error>() {
        classify(grizzly)
    } else if let Some(df) = inner.downcast_ref::<DataFusionError>() {
        classify_datafusion(df)
    } else if let Some(arrow) = inner.downcast_ref::<ArrowError>() {
        classify_arrow(arrow)
    } else {
        ("XX000", outer.to_string())
    }
}

fn classify_arrow(err: &ArrowError) -> (&'static str, String) {
    match err {
        ArrowError::CastError(message) | ArrowError::ParseError(message) => {
            ("22P02", format!("invalid input syntax: {message}"))
        }
        ArrowError::DivideByZero => ("22012", "division by zero".into()),
        ArrowError::ArithmeticOverflow(message) => {
            ("22003", format!("value out of range: {message}"))
        }
        ArrowError::ExternalError(inner) => {
            if let Some(grizzly) = inner.downcast_ref::<Error>() {
                classify(grizzly)
            } else if let Some(df) = inner.downcast_ref::<DataFusionError>() {
                classify_datafusion(df)
            } else {
                ("XX000", inner.to_string())
            }
        }
        _ => ("XX000", err.to_string()),
    }
}
