//! Storage maintenance run from SQL: `SELECT grizzly_compact('t')` compacts a table now
//! (the background task does the same once a table has enough small blocks).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{create_udf, ColumnarValue, ScalarUDF, Volatility};

use crate::storage::Database;

/// `grizzly_compact(table)`: merges the table's small blocks and says what it did.
pub fn compact_function(db: Arc<Database>) -> ScalarUDF {
    create_udf(
        "grizzly_compact",
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Volatile,
        Arc::new(move |args: &[ColumnarValue]| {
            let names = args[0].to_array(1)?;
            let names = datafusion::arrow::compute::cast(&names, &DataType::Utf8)?;
            let mut reports = Vec::with_capacity(names.len());
            for name in names.as_string::<i32>().iter() {
                let report = match name {
                    None => None,
                    Some(name) => {
                        let done = tokio::task::block_in_place(|| db.compact_table(name))?;
                        Some(done.to_string())
                    }
                };
                reports.push(report);
            }
            let array: ArrayRef = Arc::new(StringArray::from(reports));
            Ok(match &args[0] {
                ColumnarValue::Scalar(_) => {
                    ColumnarValue::Scalar(ScalarValue::try_from_array(&array, 0)?)
                }
                ColumnarValue::Array(_) => ColumnarValue::Array(array),
            })
        }),
    )
}
