//! Functions PostgreSQL clients call at connect time: `version()`, `current_database()`,
//! `current_schema()`, `pg_backend_pid()`.

use std::sync::Arc;

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{create_udf, ColumnarValue, ScalarUDF, Volatility};

/// A zero-argument function returning a constant for the session.
fn constant(name: &str, value: ScalarValue) -> ScalarUDF {
    let data_type = value.data_type();
    create_udf(
        name,
        vec![],
        data_type,
        Volatility::Stable,
        Arc::new(move |_args: &[ColumnarValue]| Ok(ColumnarValue::Scalar(value.clone()))),
    )
}

pub fn session_functions(database: &str, pid: i32) -> Vec<ScalarUDF> {
    let version = format!(
        "PostgreSQL {} (Grizzly {}) on {}, compiled by rustc",
        crate::PG_SERVER_VERSION,
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    );
    vec![
        constant("version", ScalarValue::Utf8(Some(version))),
        constant(
            "current_database",
            ScalarValue::Utf8(Some(database.to_string())),
        ),
        constant(
            "current_catalog",
            ScalarValue::Utf8(Some(database.to_string())),
        ),
        constant("current_schema", ScalarValue::Utf8(Some("public".into()))),
        constant("pg_backend_pid", ScalarValue::Int32(Some(pid))),
    ]
}
