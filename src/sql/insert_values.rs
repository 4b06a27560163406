//! A short path for the commonest write of row-at-a-time clients: `INSERT … VALUES` whose
//! values are constants or parameters.
//!
//! Executing such a plan through DataFusion optimizes it and builds a physical plan on
//! every execution, which costs far more CPU than the insert itself (and than the WAL's
//! fsync). Here the VALUES rows and the projection DataFusion's INSERT planning put on
//! top of them (column order, casts to the column types, defaults) are evaluated
//! directly into one record batch, which goes to the same `TableWriter` DataFusion's
//! sink uses: same checks, same single WAL commit.
//!
//! Anything else (a SELECT source, a function such as `now()` that the optimizer would
//! fold, a subquery) is left to DataFusion: `constant_rows` returns None.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow::datatypes::Schema;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::execution::context::ExecutionProps;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{ColumnarValue, DmlStatement, Expr, LogicalPlan, Values, WriteOp};
use datafusion::physical_expr::create_physical_expr;

use crate::error::Result;

/// The rows an INSERT … VALUES plan would write, in the table's column order, or None
/// if the plan is not that simple.
pub fn constant_rows(dml: &DmlStatement) -> Result<Option<RecordBatch>> {
    if dml.op != WriteOp::Insert(InsertOp::Append) {
        return Ok(None); // DataFusion's path reports what is not supported
    }
    let (projection, values) = match dml.input.as_ref() {
        LogicalPlan::Projection(projection) => match projection.input.as_ref() {
            LogicalPlan::Values(values) => (Some(&projection.expr), values),
            _ => return Ok(None),
        },
        LogicalPlan::Values(values) => (None, values),
        _ => return Ok(None),
    };
    let constant = |e: &Expr| is_simple(e, false);
    if !values.values.iter().flatten().all(constant)
        || !projection.is_none_or(|exprs| exprs.iter().all(|e| is_simple(e, true)))
    {
        return Ok(None);
    }
    let rows = values_batch(values)?;
    let Some(exprs) = projection else {
        return Ok(Some(rows));
    };
    let props = ExecutionProps::new();
    let schema = values.schema.as_ref();
    let columns = exprs
        .iter()
        .map(|expr| {
            let physical = create_physical_expr(expr, schema, &props, &Default::default())?;
            physical.evaluate(&rows)?.into_array(rows.num_rows())
        })
        .collect::<datafusion::error::Result<Vec<ArrayRef>>>()?;
    let output = dml.input.schema().as_arrow().clone();
    Ok(Some(batch(Arc::new(output), columns, rows.num_rows())?))
}

/// DataFusion plans an INSERT's VALUES in the target table's schema, NOT NULL columns
/// included, so a NULL for one fails as an internal Arrow error when the rows are built.
/// Planned with every VALUES column nullable instead, the NULL reaches the TableWriter,
/// which refuses it as PostgreSQL does (23502). Other plans are returned unchanged.
pub fn nullable_values(plan: LogicalPlan) -> datafusion::error::Result<LogicalPlan> {
    if !matches!(&plan, LogicalPlan::Dml(dml) if matches!(dml.op, WriteOp::Insert(_))) {
        return Ok(plan);
    }
    let rewritten = plan.transform_up(|node| match node {
        LogicalPlan::Values(values) => {
            let fields = values
                .schema
                .iter()
                .map(|(qualifier, field)| {
                    let field = field.as_ref().clone().with_nullable(true);
                    (qualifier.cloned(), Arc::new(field))
                })
                .collect();
            let schema = DFSchema::new_with_metadata(fields, values.schema.metadata().clone())?;
            Ok(Transformed::yes(LogicalPlan::Values(Values {
                schema: Arc::new(schema),
                values: values.values,
            })))
        }
        other => Ok(Transformed::yes(other.recompute_schema()?)),
    })?;
    Ok(rewritten.data)
}

/// Literals, casts and signs, plus column references in the projection over VALUES.
fn is_simple(expr: &Expr, columns_allowed: bool) -> bool {
    match expr {
        Expr::Literal(..) => true,
        Expr::Column(_) => columns_allowed,
        Expr::Alias(alias) => is_simple(&alias.expr, columns_allowed),
        Expr::Cast(c) => is_simple(&c.expr, columns_allowed),
        Expr::TryCast(c) => is_simple(&c.expr, columns_allowed),
        Expr::Negative(e) => is_simple(e, columns_allowed),
        _ => false,
    }
}

/// The VALUES rows as a batch of the Values node's schema.
fn values_batch(values: &Values) -> Result<RecordBatch> {
    let schema: &DFSchema = values.schema.as_ref();
    let props = ExecutionProps::new();
    let empty = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )?;
    let no_columns = DFSchema::empty();
    let mut columns = Vec::with_capacity(schema.fields().len());
    for (index, field) in schema.fields().iter().enumerate() {
        let scalars = values
            .values
            .iter()
            .map(|row| {
                let physical =
                    create_physical_expr(&row[index], &no_columns, &props, &Default::default())?;
                let value = match physical.evaluate(&empty)? {
                    ColumnarValue::Scalar(value) => value,
                    ColumnarValue::Array(array) => ScalarValue::try_from_array(&array, 0)?,
                };
                value.cast_to(field.data_type())
            })
            .collect::<datafusion::error::Result<Vec<ScalarValue>>>()?;
        columns.push(ScalarValue::iter_to_array(scalars)?);
    }
    batch(
        Arc::new(schema.as_arrow().clone()),
        columns,
        values.values.len(),
    )
}

fn batch(schema: Arc<Schema>, columns: Vec<ArrayRef>, rows: usize) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new_with_options(
        schema,
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )?)
}
