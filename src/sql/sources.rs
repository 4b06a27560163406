//! Where each result column comes from: the table OID and column number RowDescription
//! reports, which pgjdbc's `getTableName` and `isNullable` and node-postgres's field
//! metadata read.
//!
//! PostgreSQL reports them for a column taken as it is from a table, through aliases,
//! subqueries, joins, filters, sorts and GROUP BY keys; not for a computed column or a
//! UNION. They are traced through the logical plan and set as field metadata on the
//! schema the statement is described with. DataFusion never sees that metadata: on a
//! table's own fields it would have to agree wherever plans combine them, and the inputs
//! of a UNION do not.

use std::sync::Arc;

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::datasource::source_as_provider;
use datafusion::logical_expr::{Distinct, Expr, ExprSchemable, JoinType, LogicalPlan};

use crate::catalog::column::{ATTNUM_METADATA, TABLE_OID_METADATA};
use crate::catalog::pg_catalog::table_oid;
use crate::table::GrizzlyTable;

/// `schema` (the described columns of `plan`) with each column taken from a table
/// marked with the table's OID and the column's number.
pub fn mark(plan: &LogicalPlan, schema: &Schema) -> SchemaRef {
    let fields = schema.fields().iter().enumerate().map(|(index, field)| {
        let Some((table_id, position)) = source(plan, index) else {
            return field.as_ref().clone();
        };
        let mut metadata = field.metadata().clone();
        metadata.insert(TABLE_OID_METADATA.into(), table_oid(table_id).to_string());
        metadata.insert(ATTNUM_METADATA.into(), (position + 1).to_string());
        field.as_ref().clone().with_metadata(metadata)
    });
    Arc::new(Schema::new_with_metadata(
        fields.collect::<Vec<_>>(),
        schema.metadata().clone(),
    ))
}

/// The table (by id) and column position output column `index` of `plan` is taken from.
fn source(plan: &LogicalPlan, index: usize) -> Option<(u64, usize)> {
    match plan {
        LogicalPlan::TableScan(scan) => {
            let provider = source_as_provider(&scan.source).ok()?;
            let table = provider.as_ref().downcast_ref::<GrizzlyTable>()?;
            let position = match &scan.projection {
                Some(projection) => *projection.get(index)?,
                None => index,
            };
            Some((table.def().id, position))
        }
        LogicalPlan::Projection(projection) => {
            column_source(&projection.input, projection.expr.get(index)?)
        }
        // GROUP BY keys come first in an aggregate's output.
        LogicalPlan::Aggregate(aggregate) => {
            column_source(&aggregate.input, aggregate.group_expr.get(index)?)
        }
        LogicalPlan::Window(window) if index < window.input.schema().fields().len() => {
            source(&window.input, index)
        }
        LogicalPlan::Join(join) => {
            let left_width = join.left.schema().fields().len();
            match join.join_type {
                JoinType::RightSemi | JoinType::RightAnti => source(&join.right, index),
                _ if index < left_width => source(&join.left, index),
                JoinType::Inner | JoinType::Left | JoinType::Right | JoinType::Full => {
                    source(&join.right, index - left_width)
                }
                _ => None,
            }
        }
        // The same columns as their one input.
        LogicalPlan::Filter(filter) => source(&filter.input, index),
        LogicalPlan::Sort(sort) => source(&sort.input, index),
        LogicalPlan::Limit(limit) => source(&limit.input, index),
        LogicalPlan::SubqueryAlias(alias) => source(&alias.input, index),
        LogicalPlan::Repartition(repartition) => source(&repartition.input, index),
        LogicalPlan::Distinct(Distinct::All(input)) => source(input, index),
        _ => None,
    }
}

/// The source of `expr` over `input` if it is a column reference (aliased, or cast to
/// its own type, or not).
fn column_source(input: &LogicalPlan, expr: &Expr) -> Option<(u64, usize)> {
    match expr {
        Expr::Alias(alias) => column_source(input, &alias.expr),
        Expr::Cast(cast)
            if cast.expr.get_type(input.schema()).ok().as_ref() == Some(cast.field.data_type()) =>
        {
            column_source(input, &cast.expr)
        }
        Expr::Column(column) => source(input, input.schema().index_of_column(column).ok()?),
        _ => None,
    }
}
