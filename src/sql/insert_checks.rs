//! INSERT checks that make Grizzly answer as PostgreSQL does where DataFusion would
//! quietly cast: a boolean into an integer column is 42804, `'abc'` into an integer is
//! 22P02 naming the type, an oversized constant is 22003, and an INSERT's column list and
//! VALUES widths are checked against the table. Called by `session.rs` before and after
//! DataFusion plans an INSERT.

use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::logical_expr::{DmlStatement, Expr, ExprSchemable, LogicalPlan};
use datafusion::sql::sqlparser::ast;

use super::ddl;
use super::session::column_type_for;
use crate::error::{Error, Result};
use crate::storage::Database;

/// PostgreSQL refuses to assign a value of an unrelated type to a column (a boolean to an
/// integer column, say) where DataFusion would cast it. Check the casts DataFusion's
/// INSERT planning added and refuse those PostgreSQL would (42804).
pub fn check_insert_types(dml: &DmlStatement) -> Result<()> {
    let LogicalPlan::Projection(projection) = dml.input.as_ref() else {
        return Ok(());
    };
    let target = dml.target.schema();
    let input_schema: &DFSchema = projection.input.schema();
    for (expr, field) in projection.expr.iter().zip(target.fields()) {
        check_assignment(expr, input_schema, field)?;
    }
    // INSERT … VALUES: DataFusion casts each value to its column's type in the Values node.
    if let LogicalPlan::Values(values) = projection.input.as_ref() {
        let empty = DFSchema::empty();
        for (i, projected) in projection.expr.iter().enumerate() {
            let Some(source) = projected_column(projected) else {
                continue;
            };
            let Some(k) = values.schema.index_of_column_by_name(None, &source) else {
                continue;
            };
            let Ok(field) = target.field_with_name(projection.schema.field(i).name()) else {
                continue;
            };
            for row in &values.values {
                check_assignment(&row[k], &empty, field)?;
            }
        }
    }
    Ok(())
}

/// The input column a projection expression passes through (possibly renamed).
fn projected_column(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Alias(alias) => projected_column(&alias.expr),
        Expr::Column(column) => Some(column.name.clone()),
        _ => None,
    }
}

fn check_assignment(expr: &Expr, schema: &DFSchema, field: &Field) -> Result<()> {
    let expr = match expr {
        Expr::Alias(alias) => alias.expr.as_ref(),
        other => other,
    };
    let (Expr::Cast(datafusion::logical_expr::Cast { expr: inner, .. })
    | Expr::TryCast(datafusion::logical_expr::TryCast { expr: inner, .. })) = expr
    else {
        return Ok(());
    };
    if let Expr::Literal(value, _) = inner.as_ref() {
        // A constant that cannot become the column's type fails now, with PostgreSQL's
        // error, rather than later as a generic cast failure.
        if !value.is_null() && value.cast_to(field.data_type()).is_err() {
            return Err(literal_error(value, field.data_type()));
        }
        if matches!(value, ScalarValue::Utf8(_)) {
            return Ok(()); // an untyped literal, parsed by the target type like PostgreSQL does
        }
    }
    let Ok(from) = inner.get_type(schema) else {
        return Ok(());
    };
    if assignable(&from, field.data_type()) {
        return Ok(());
    }
    Err(Error::TypeMismatch(format!(
        "column \"{}\" is of type {} but expression is of type {}",
        field.name(),
        pg_type_name(field.data_type()),
        pg_type_name(&from)
    )))
}

fn literal_error(value: &ScalarValue, target: &DataType) -> Error {
    let type_name = pg_type_name(target);
    match (value, target) {
        (ScalarValue::Utf8(Some(text)), _) => Error::InvalidValue(format!(
            "invalid input syntax for type {type_name}: \"{text}\""
        )),
        (_, DataType::Int16 | DataType::Int32 | DataType::Int64) => {
            Error::OutOfRange(format!("{type_name} out of range"))
        }
        (_, DataType::Decimal128(_, _)) => Error::OutOfRange("numeric field overflow".into()),
        _ => Error::OutOfRange(format!("value {value} out of range for type {type_name}")),
    }
}

/// Checks an INSERT's column list and VALUES row widths against the table, as
/// PostgreSQL reports them (DataFusion's messages name neither table nor rule).
pub fn check_insert_shape(insert: &mut ast::Insert, db: &Database) -> Result<()> {
    let ast::TableObject::TableName(name) = &insert.table else {
        return Ok(());
    };
    let Some(def) = ddl::table_name(name).ok().and_then(|n| db.table(&n)) else {
        return Ok(());
    };
    for column in &insert.columns {
        let column = column
            .0
            .last()
            .and_then(|p| p.as_ident())
            .map(ddl::normalize_ident)
            .unwrap_or_default();
        if def.column(&column).is_none() {
            return Err(Error::UndefinedColumn(format!(
                "column \"{column}\" of relation \"{}\" does not exist",
                def.name
            )));
        }
    }
    let targets = if insert.columns.is_empty() {
        def.columns.len()
    } else {
        insert.columns.len()
    };
    if let Some(source) = &insert.source {
        if let ast::SetExpr::Values(values) = source.body.as_ref() {
            if values.rows.iter().any(|row| row.content.len() > targets) {
                return Err(Error::Syntax(
                    "INSERT has more expressions than target columns".into(),
                ));
            }
            // Without a column list, shorter rows fill the leading columns, as in PostgreSQL.
            let width = values
                .rows
                .iter()
                .map(|row| row.content.len())
                .max()
                .unwrap_or(targets);
            if insert.columns.is_empty() && width < targets {
                insert.columns = def.columns[..width]
                    .iter()
                    .map(|c| {
                        ast::ObjectName::from(vec![ast::Ident::with_quote('"', c.name.clone())])
                    })
                    .collect();
            }
        }
    }
    Ok(())
}

/// PostgreSQL's assignment casts, by type category.
fn assignable(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    let category = |t: &DataType| match t {
        Null => 0,
        Int8
        | Int16
        | Int32
        | Int64
        | UInt8
        | UInt16
        | UInt32
        | UInt64
        | Float16
        | Float32
        | Float64
        | Decimal32(_, _)
        | Decimal64(_, _)
        | Decimal128(_, _)
        | Decimal256(_, _) => 1,
        Utf8 | LargeUtf8 | Utf8View => 2,
        Boolean => 3,
        Date32 | Date64 | Timestamp(_, _) => 4,
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => 5,
        _ => 6,
    };
    let (f, t) = (category(from), category(to));
    f == 0 || f == t || t == 2
}

fn pg_type_name(data_type: &DataType) -> String {
    match column_type_for(data_type) {
        Ok(column_type) => column_type.sql_name(),
        Err(_) => data_type.to_string(),
    }
}
