//! ALTER TABLE: DataFusion does not plan it, so Grizzly applies it to the table's
//! definition itself. Every action of one statement is applied in order to a copy of the
//! definition; what the existing rows must satisfy (SET NOT NULL, ADD COLUMN ... NOT
//! NULL) is returned as checks for the session to run; then one manifest version commits
//! the new definition (`Database::alter_table`), so the actions apply all or none.
//!
//! Nothing here rewrites data. A new column gets a new stable id, so a dropped column's
//! data can never reappear under a re-added name; rows written before a column existed
//! read its `missing` value (ADD COLUMN's default, evaluated once, as PostgreSQL does for
//! non-volatile defaults). Types change only by widening, which blocks written in the
//! narrower type are cast through when read.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::{cast, Expr};
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::sql::sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, Ident, RenameTableNameKind,
};

use super::ddl::{self, normalize_ident};
use crate::catalog::column::missing_text;
use crate::catalog::{ColumnDef, ColumnType, TableDef};
use crate::error::{Error, Result};

/// What the rows already in the table must satisfy for the ALTER to commit.
#[derive(Debug, PartialEq)]
pub enum Check {
    /// The existing column (named as before the ALTER) holds no NULL.
    NoNulls { column: String, new_name: String },
    /// The table has no rows: a column added NOT NULL without a default would be NULL.
    Empty { new_column: String },
}

impl Check {
    /// The column checked, by its name after the ALTER.
    pub fn column(&self) -> &String {
        match self {
            Check::NoNulls { new_name, .. } => new_name,
            Check::Empty { new_column } => new_column,
        }
    }

    fn column_mut(&mut self) -> &mut String {
        match self {
            Check::NoNulls { new_name, .. } => new_name,
            Check::Empty { new_column } => new_column,
        }
    }
}

/// Applies `operations` to a copy of `table`; returns the new definition and the checks.
pub fn apply(
    table: &TableDef,
    operations: &[AlterTableOperation],
) -> Result<(TableDef, Vec<Check>)> {
    let mut def = table.clone();
    let mut checks = Vec::new();
    for operation in operations {
        apply_one(table, &mut def, operation, &mut checks)?;
    }
    if def.partitioning != table.partitioning {
        return Err(Error::Unsupported(format!(
            "the partitioning of \"{}\" is fixed when the table is created; create a new \
             table WITH (partition_by = ...) and copy the rows with INSERT ... SELECT",
            table.name
        )));
    }
    def.schema_version = table.schema_version + 1;
    Ok((def, checks))
}

fn apply_one(
    old: &TableDef,
    def: &mut TableDef,
    operation: &AlterTableOperation,
    checks: &mut Vec<Check>,
) -> Result<()> {
    match operation {
        AlterTableOperation::AddColumn {
            if_not_exists,
            column_def,
            column_position: None,
            ..
        } => {
            let mut column = ddl::column_def(column_def, def.next_column_id)?;
            if def.column(&column.name).is_some() {
                if *if_not_exists {
                    return Ok(());
                }
                return Err(Error::DuplicateColumn(format!(
                    "column \"{}\" of relation \"{}\" already exists",
                    column.name, def.name
                )));
            }
            if let Some(sql) = &column.default {
                column.missing = missing_text(&evaluate_default(sql, &column)?)?;
            }
            if column.not_null && column.missing.is_none() {
                checks.push(Check::Empty {
                    new_column: column.name.clone(),
                });
            }
            def.next_column_id += 1;
            def.columns.push(column);
        }
        AlterTableOperation::DropColumn {
            column_names,
            if_exists,
            ..
        } => {
            for name in column_names {
                let name = normalize_ident(name);
                let Some(position) = def.columns.iter().position(|c| c.name == name) else {
                    if *if_exists {
                        continue;
                    }
                    return Err(undefined_column(&name, def));
                };
                let key = def.partitioning.as_ref().map(|p| p.column_id());
                if key == Some(def.columns[position].id) {
                    return Err(Error::InvalidTableDefinition(format!(
                        "cannot drop column \"{name}\" because it is part of the partition \
                         key of relation \"{}\"",
                        def.name
                    )));
                }
                if def.columns.len() == 1 {
                    return Err(Error::Unsupported(format!(
                        "cannot drop column \"{name}\": it is the last column of \"{}\", and \
                         Grizzly tables keep at least one (drop the table instead)",
                        def.name
                    )));
                }
                // Like an index on it in PostgreSQL, the sort key loses the column.
                let removed = def.columns.remove(position);
                def.sort_by.retain(|id| *id != removed.id);
                checks.retain(|check| *check.column() != name);
            }
        }
        AlterTableOperation::RenameColumn {
            old_column_name,
            new_column_name,
        } => {
            let (from, to) = (
                normalize_ident(old_column_name),
                normalize_ident(new_column_name),
            );
            if def.column(&from).is_none() {
                // PostgreSQL's words for RENAME COLUMN.
                return Err(Error::UndefinedColumn(format!(
                    "column \"{from}\" does not exist"
                )));
            }
            if def.column(&to).is_some() {
                return Err(Error::DuplicateColumn(format!(
                    "column \"{to}\" of relation \"{}\" already exists",
                    def.name
                )));
            }
            for check in checks.iter_mut().filter(|c| *c.column() == from) {
                *check.column_mut() = to.clone();
            }
            column_mut(def, &from)?.name = to;
        }
        AlterTableOperation::RenameTable { table_name } => {
            let (RenameTableNameKind::To(name) | RenameTableNameKind::As(name)) = table_name;
            def.name = ddl::table_name(name)?;
        }
        AlterTableOperation::AlterColumn { column_name, op } => {
            alter_column(old, def, column_name, op, checks)?;
        }
        AlterTableOperation::SetOptionsParens { options } => {
            ddl::apply_table_options(options, def)?;
        }
        other => {
            return Err(Error::Unsupported(format!(
                "ALTER TABLE ... {other} is not supported; Grizzly supports ADD COLUMN, DROP \
                 COLUMN, RENAME [COLUMN], ALTER COLUMN [SET DATA] TYPE / SET|DROP DEFAULT / \
                 SET|DROP NOT NULL and SET (retention = ..., compression = ..., sort_by = ...)"
            )))
        }
    }
    Ok(())
}

fn alter_column(
    old: &TableDef,
    def: &mut TableDef,
    column_name: &Ident,
    op: &AlterColumnOperation,
    checks: &mut Vec<Check>,
) -> Result<()> {
    let name = normalize_ident(column_name);
    let table = def.name.clone();
    let column = column_mut(def, &name)?;
    match op {
        AlterColumnOperation::SetNotNull => {
            if !column.not_null {
                column.not_null = true;
                match old.columns.iter().find(|c| c.id == column.id) {
                    Some(existing) => checks.push(Check::NoNulls {
                        column: existing.name.clone(),
                        new_name: name,
                    }),
                    // Added by this same statement: its old rows read `missing`.
                    None if column.missing.is_none() => {
                        checks.push(Check::Empty { new_column: name })
                    }
                    None => {}
                }
            }
        }
        AlterColumnOperation::DropNotNull => column.not_null = false,
        AlterColumnOperation::SetDefault { value } => {
            let sql = value.to_string();
            ddl::parse_default(&sql).map_err(|e| Error::InvalidInput(e.to_string()))?;
            column.default = Some(sql);
        }
        AlterColumnOperation::DropDefault => column.default = None,
        AlterColumnOperation::SetDataType {
            data_type, using, ..
        } => {
            if using.is_some() {
                return Err(Error::Unsupported(format!(
                    "ALTER COLUMN \"{name}\" TYPE ... USING is not supported: Grizzly changes a \
                     column's type only by widening it, which needs no conversion"
                )));
            }
            let to = ddl::column_type(data_type)?;
            if let Some(reason) = narrowing(&column.column_type, &to) {
                return Err(Error::Unsupported(format!(
                    "cannot change column \"{name}\" of \"{table}\" from {} to {}: {reason}. \
                     Grizzly changes types without rewriting data, so only widenings are \
                     allowed: smallint to integer to bigint, real to double precision, \
                     varchar(n) to a longer varchar or text, numeric(p,s) to numeric(q,s) with q > p",
                    column.column_type.sql_name(),
                    to.sql_name()
                )));
            }
            // Rows predating the column read its missing value as the old type widened,
            // like the values stored in blocks (0.1::real is 0.10000000149011612 as double).
            if let Some(text) = &column.missing {
                let widened = column.missing_value(text)?.cast_to(&to.to_arrow())?;
                column.missing = missing_text(&widened)?;
            }
            column.column_type = to;
        }
        AlterColumnOperation::AddGenerated { .. } => {
            return Err(Error::Unsupported(
                "identity columns are not supported".into(),
            ))
        }
    }
    Ok(())
}

/// Why a column of type `from` cannot become `to` without rewriting its data, or None
/// if every value converts exactly.
pub fn narrowing(from: &ColumnType, to: &ColumnType) -> Option<&'static str> {
    use ColumnType as T;
    let rank = |t: &ColumnType| match t {
        T::SmallInt => Some(0),
        T::Integer => Some(1),
        T::BigInt => Some(2),
        _ => None,
    };
    match (from, to) {
        _ if from == to => None,
        (T::SmallInt | T::Integer | T::BigInt, T::SmallInt | T::Integer | T::BigInt) => {
            (rank(to) < rank(from)).then_some("existing values may not fit the smaller integer")
        }
        (T::Real, T::Double) => None,
        (T::Double, T::Real) => Some("double precision values lose precision as real"),
        (T::Varchar { .. } | T::Text, T::Text | T::Varchar { max_len: None }) => None,
        (T::Varchar { max_len: Some(n) }, T::Varchar { max_len: Some(m) }) => {
            (m < n).then_some("existing values may be longer than the new length")
        }
        (T::Text | T::Varchar { max_len: None }, T::Varchar { max_len: Some(_) }) => {
            Some("existing values may be longer than the new length")
        }
        (
            T::Numeric {
                precision: p,
                scale: s,
            },
            T::Numeric {
                precision: q,
                scale: t,
            },
        ) => match (s == t, q >= p) {
            (false, _) => Some("changing a numeric's scale would rewrite every value"),
            (true, false) => Some("existing values may have more digits than the new precision"),
            (true, true) => None,
        },
        _ => Some("the stored values would have to be converted"),
    }
}

/// Evaluates ADD COLUMN's default once, as the value existing rows read.
fn evaluate_default(sql: &str, column: &ColumnDef) -> Result<ScalarValue> {
    let expr = ddl::parse_default(sql).map_err(|e| Error::InvalidInput(e.to_string()))?;
    if expr.is_volatile() {
        return Err(Error::Unsupported(format!(
            "ADD COLUMN \"{}\" with the volatile default {sql} would give every existing row \
             its own value, which means rewriting every block; add the column without it, then \
             ALTER COLUMN ... SET DEFAULT for new rows",
            column.name
        )));
    }
    let simplifier = ExprSimplifier::new(
        SimplifyContext::builder()
            .with_config_options(Arc::new(ConfigOptions::default()))
            .with_current_time()
            .build(),
    );
    match simplifier.simplify(cast(expr, column.column_type.to_arrow()))? {
        Expr::Literal(value, _) => Ok(value),
        _ => Err(Error::InvalidInput(format!(
            "the default of column \"{}\" must be a constant expression, not {sql}",
            column.name
        ))),
    }
}

fn column_mut<'a>(def: &'a mut TableDef, name: &str) -> Result<&'a mut ColumnDef> {
    let table = def.name.clone();
    def.columns
        .iter_mut()
        .find(|c| c.name == name)
        .ok_or_else(|| {
            Error::UndefinedColumn(format!(
                "column \"{name}\" of relation \"{table}\" does not exist"
            ))
        })
}

fn undefined_column(name: &str, def: &TableDef) -> Error {
    Error::UndefinedColumn(format!(
        "column \"{name}\" of relation \"{}\" does not exist",
        def.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::column::missing_text;

    #[test]
    fn widenings_are_allowed_and_narrowings_refused() {
        use ColumnType as T;
        let varchar = |n| T::Varchar { max_len: Some(n) };
        let numeric = |precision, scale| T::Numeric { precision, scale };
        for (from, to) in [
            (T::SmallInt, T::Integer),
            (T::Integer, T::BigInt),
            (T::SmallInt, T::BigInt),
            (T::Real, T::Double),
            (varchar(5), varchar(10)),
            (varchar(5), T::Text),
            (T::Text, T::Varchar { max_len: None }),
            (numeric(10, 2), numeric(12, 2)),
        ] {
            assert_eq!(narrowing(&from, &to), None, "{from:?} -> {to:?}");
        }
        for (from, to) in [
            (T::BigInt, T::Integer),
            (T::Double, T::Real),
            (varchar(10), varchar(5)),
            (T::Text, varchar(5)),
            (numeric(12, 2), numeric(10, 2)),
            (numeric(10, 2), numeric(12, 3)),
            (T::Integer, T::Text),
            (T::Text, T::Integer),
        ] {
            assert!(narrowing(&from, &to).is_some(), "{from:?} -> {to:?}");
        }
    }

    #[test]
    fn missing_values_read_back_exactly_for_every_type() {
        use ColumnType as T;
        let cases = [
            (T::SmallInt, "-7"),
            (T::Integer, "42"),
            (T::BigInt, "9007199254740993"),
            (T::Real, "0.1"),
            (T::Double, "0.1 + 0.2"),
            (
                T::Numeric {
                    precision: 12,
                    scale: 2,
                },
                "1234.5",
            ),
            (T::Text, "'it''s'"),
            (T::Varchar { max_len: Some(3) }, "'abc'"),
            (T::Boolean, "true"),
            (T::Date, "DATE '2026-11-24'"),
            (T::Timestamp, "TIMESTAMP '2026-11-24 10:11:12.123456'"),
            (T::TimestampTz, "TIMESTAMPTZ '2026-11-24 10:11:12.5+02'"),
        ];
        for (column_type, sql) in cases {
            let column = ColumnDef {
                id: 1,
                name: "c".into(),
                column_type,
                not_null: false,
                default: Some(sql.into()),
                missing: None,
            };
            let value = evaluate_default(sql, &column).unwrap();
            let text = missing_text(&value).unwrap().unwrap();
            assert_eq!(
                column.missing_value(&text).unwrap(),
                value,
                "{sql} as {text}"
            );
        }
    }
}
