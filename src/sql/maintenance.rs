//! Storage maintenance run from SQL: `SELECT grizzly_compact('t')` compacts a table now
//! (the background task does the same once a table has enough small blocks), telling
//! the client its progress in NOTICE messages.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{create_udf, ColumnarValue, ScalarUDF, Volatility};

use super::functions::map_text;
use super::NoticeSender;
use crate::storage::Database;

/// `grizzly_compact(table)`: merges the table's small blocks and says what it did.
pub fn compact_function(db: Arc<Database>, notices: NoticeSender) -> ScalarUDF {
    create_udf(
        "grizzly_compact",
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Volatile,
        Arc::new(move |args: &[ColumnarValue]| {
            map_text(&args[0], |name| {
                let progress = |message: &str| notices.send(message);
                let done = tokio::task::block_in_place(|| db.compact_table(name, &progress))?;
                Ok(done.to_string())
            })
        }),
    )
}
