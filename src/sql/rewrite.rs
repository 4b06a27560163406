//! Plan rewrites that make DataFusion read values the way PostgreSQL does.
//!
//! `bytea_input`: PostgreSQL reads text into bytea by its escape syntax (`'\x0102'` is
//! two bytes); Arrow's Utf8→Binary cast takes the text's bytes as they are. Every such
//! cast in a plan becomes a call to `grizzly_bytea_in`, which parses the syntax.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, AsArray, BinaryBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::logical_expr::{
    create_udf, Cast, ColumnarValue, Expr, ExprSchemable, LogicalPlan, ScalarUDF, Volatility,
};

use crate::error::Error;
use crate::sql::copy::parse_bytea;

static BYTEA_IN: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
    Arc::new(create_udf(
        "grizzly_bytea_in",
        vec![DataType::Utf8],
        DataType::Binary,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let array = args[0].to_array(1)?;
            let strings = datafusion::arrow::compute::cast(&array, &DataType::Utf8)?;
            let strings = strings.as_string::<i32>();
            let mut builder = BinaryBuilder::new();
            for value in strings.iter() {
                match value {
                    None => builder.append_null(),
                    Some(text) => {
                        builder.append_value(parse_bytea(text).map_err(Error::InvalidValue)?)
                    }
                }
            }
            let result = builder.finish();
            Ok(match &args[0] {
                ColumnarValue::Scalar(_) => {
                    ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?)
                }
                ColumnarValue::Array(_) => ColumnarValue::Array(Arc::new(result) as Arc<dyn Array>),
            })
        }),
    ))
});

pub fn bytea_input(plan: LogicalPlan) -> Result<LogicalPlan> {
    plan.transform_up_with_subqueries(|node| {
        let schema = node
            .inputs()
            .first()
            .map(|input| input.schema().as_ref().clone())
            .unwrap_or_else(DFSchema::empty);
        node.map_expressions(|expr| {
            expr.transform_up(|e| match e {
                Expr::Cast(Cast { expr, field })
                    if field.data_type() == &DataType::Binary && is_text(&expr, &schema) =>
                {
                    Ok(Transformed::yes(BYTEA_IN.call(vec![*expr])))
                }
                other => Ok(Transformed::no(other)),
            })
        })
    })
    .map(|t| t.data)
}

fn is_text(expr: &Expr, schema: &DFSchema) -> bool {
    matches!(
        expr.get_type(schema),
        Ok(DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
    )
}
