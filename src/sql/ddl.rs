//! CREATE TABLE and DROP TABLE: Grizzly runs these itself (DataFusion's would create
//! in-memory tables). This turns sqlparser's AST into a `TableDef` and back.

use datafusion::logical_expr::Expr;
use datafusion::sql::sqlparser::ast::{
    self, CharacterLength, ColumnOption, ExactNumberInfo, ObjectName, TimezoneInfo,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::catalog::partition::Partitioning;
use crate::catalog::{ColumnDef, ColumnType, TableDef};
use crate::error::{Error, Result};
use crate::storage::codec::Compression;

/// Precision and scale of a bare `numeric`.
const DEFAULT_NUMERIC: (u8, i8) = (38, 10);

/// The table's name as PostgreSQL folds it: unquoted identifiers become lower case.
/// A schema qualifier must be `public` (the only schema so far).
pub fn table_name(name: &ObjectName) -> Result<String> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|part| match part.as_ident() {
            Some(ident) => Ok(normalize_ident(ident)),
            None => Err(Error::Syntax(format!("invalid table name {name}"))),
        })
        .collect::<Result<_>>()?;
    match parts.as_slice() {
        [table] => Ok(table.clone()),
        [schema, table] if schema == "public" => Ok(table.clone()),
        [_, table] => Err(Error::Unsupported(format!(
            "schemas other than \"public\" are not supported yet (in \"{name}\"); create \"{table}\" in public"
        ))),
        _ => Err(Error::Unsupported(format!("cross-database references are not supported: {name}"))),
    }
}

pub fn normalize_ident(ident: &ast::Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    }
}

/// Builds the definition for `CREATE TABLE` (without an id; the database assigns it).
pub fn table_def(create: &ast::CreateTable) -> Result<TableDef> {
    let name = table_name(&create.name)?;
    if create.columns.is_empty() {
        return Err(Error::Unsupported(format!(
            "table \"{name}\" must have at least one column"
        )));
    }
    let mut columns: Vec<ColumnDef> = Vec::new();
    for (index, column) in create.columns.iter().enumerate() {
        let def = column_def(column, index as u32 + 1)?;
        if columns.iter().any(|c| c.name == def.name) {
            return Err(Error::InvalidInput(format!(
                "column \"{}\" specified more than once",
                def.name
            )));
        }
        columns.push(def);
    }
    for constraint in &create.constraints {
        key_constraint(constraint, &mut columns)?;
    }
    let next_column_id = columns.len() as u32 + 1;
    let mut def = TableDef {
        id: 0,
        name,
        columns,
        next_column_id,
        retention_micros: None,
        schema_version: 1,
        compression: Compression::Auto,
        partitioning: None,
        sort_by: Vec::new(),
    };
    match &create.table_options {
        ast::CreateTableOptions::None => {}
        ast::CreateTableOptions::With(options) => apply_table_options(options, &mut def)?,
        other => {
            return Err(Error::Unsupported(format!(
                "table options \"{other}\" are not supported; use WITH ({TABLE_OPTIONS})"
            )))
        }
    }
    Ok(def)
}

/// A table constraint of CREATE TABLE: `PRIMARY KEY (a, b)` makes its columns NOT NULL
/// (its uniqueness is not checked, see `PRIMARY_KEY_NOTICE`); other constraints are refused
/// rather than ignored.
fn key_constraint(constraint: &ast::TableConstraint, columns: &mut [ColumnDef]) -> Result<()> {
    let ast::TableConstraint::PrimaryKey(key) = constraint else {
        return Err(Error::Unsupported(format!(
            "constraint \"{constraint}\" is not supported yet; Grizzly checks NOT NULL and \
             varchar lengths"
        )));
    };
    for column in &key.columns {
        let ast::Expr::Identifier(ident) = &column.column.expr else {
            return Err(Error::Unsupported(format!(
                "a key on the expression \"{}\" is not supported; name columns",
                column.column.expr
            )));
        };
        let name = normalize_ident(ident);
        let def = columns.iter_mut().find(|c| c.name == name).ok_or_else(|| {
            Error::UndefinedColumn(format!("column \"{name}\" named in key does not exist"))
        })?;
        def.not_null = true;
    }
    Ok(())
}

/// What CREATE TABLE tells a client whose table declares a PRIMARY KEY.
pub const PRIMARY_KEY_NOTICE: &str = "PRIMARY KEY is not enforced: Grizzly makes its columns \
     NOT NULL but does not check that keys are unique, and catalogs list no key";

/// Whether CREATE TABLE declares a primary key, on a column or for the table.
pub fn declares_primary_key(create: &ast::CreateTable) -> bool {
    let on_column = create.columns.iter().any(|column| {
        column
            .options
            .iter()
            .any(|option| matches!(option.option, ColumnOption::PrimaryKey(_)))
    });
    let for_table = create
        .constraints
        .iter()
        .any(|c| matches!(c, ast::TableConstraint::PrimaryKey(_)));
    on_column || for_table
}

/// A column as CREATE TABLE or ALTER TABLE ... ADD COLUMN declares it, with id `id`.
pub fn column_def(column: &ast::ColumnDef, id: u32) -> Result<ColumnDef> {
    let mut def = ColumnDef {
        id,
        name: normalize_ident(&column.name),
        column_type: column_type(&column.data_type)?,
        not_null: false,
        default: None,
        missing: None,
    };
    for option in &column.options {
        match &option.option {
            ColumnOption::Null => def.not_null = false,
            ColumnOption::NotNull => def.not_null = true,
            ColumnOption::Default(expr) => {
                let sql = expr.to_string();
                parse_default(&sql).map_err(|e| Error::InvalidInput(e.to_string()))?;
                def.default = Some(sql);
            }
            // A primary key implies NOT NULL; see `PRIMARY_KEY_NOTICE`.
            ColumnOption::PrimaryKey(_) => def.not_null = true,
            other => {
                return Err(Error::Unsupported(format!(
                    "column option \"{other}\" is not supported yet"
                )))
            }
        }
    }
    Ok(def)
}

/// The table options Grizzly knows, as error messages list them.
const TABLE_OPTIONS: &str = "retention = '<interval>', compression = 'auto' | 'lz4' | 'zstd' | \
     'zstd(<level>)' | 'none', partition_by = 'hour|day|month(<column>)' | 'hash(<column>, <n>)', \
     sort_by = '<column>[, ...]'";

/// Table options of `CREATE TABLE ... WITH (...)` and `ALTER TABLE ... SET (...)`:
/// `retention` (how long the table's history stays readable), `compression` (the
/// codec of its blocks; `auto` lets the tuner choose, see `storage/codec.rs`),
/// `partition_by` (`catalog/partition.rs`) and `sort_by` (the columns compaction sorts
/// rows by).
pub fn apply_table_options(options: &[ast::SqlOption], def: &mut TableDef) -> Result<()> {
    for option in options {
        let ast::SqlOption::KeyValue { key, value } = option else {
            return Err(unrecognized_option(&option.to_string()));
        };
        match normalize_ident(key).as_str() {
            "retention" => def.retention_micros = Some(interval_micros(value)?),
            "compression" => def.compression = Compression::parse(&option_text(value))?,
            "partition_by" => {
                def.partitioning = Some(Partitioning::parse(&option_text(value), def)?)
            }
            "sort_by" => def.set_sort_by(&option_text(value))?,
            other => return Err(unrecognized_option(other)),
        }
    }
    Ok(())
}

fn unrecognized_option(name: &str) -> Error {
    Error::InvalidInput(format!(
        "unrecognized table option \"{name}\"; the table options are {TABLE_OPTIONS}"
    ))
}

/// An option's value as text: a string literal's contents, or the expression as written.
fn option_text(value: &ast::Expr) -> String {
    match value {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        other => other.to_string(),
    }
}

/// An interval given as a string (`'7 days'`) or an INTERVAL literal, in microseconds;
/// a month counts as 30 days.
fn interval_micros(value: &ast::Expr) -> Result<i64> {
    let text = match value {
        ast::Expr::Interval(interval) => match interval.value.as_ref() {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::SingleQuotedString(s) => match &interval.leading_field {
                    Some(unit) => format!("{s} {unit}"),
                    None => s.clone(),
                },
                other => other.to_string(),
            },
            other => other.to_string(),
        },
        other => option_text(other),
    };
    parse_retention(&text)
}

/// A retention interval such as `7 days` or `12 hours`, in microseconds; a month counts
/// as 30 days. Also parses the server's `--retention` flag.
pub fn parse_retention(text: &str) -> Result<i64> {
    use datafusion::arrow::array::{Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, IntervalUnit};
    let invalid = || {
        Error::InvalidValue(format!(
            "invalid input syntax for type interval: \"{text}\" (retention takes an interval such as '7 days')"
        ))
    };
    let array = StringArray::from(vec![text]);
    let cast =
        datafusion::arrow::compute::cast(&array, &DataType::Interval(IntervalUnit::MonthDayNano))
            .map_err(|_| invalid())?;
    let cast = cast
        .as_any()
        .downcast_ref::<datafusion::arrow::array::IntervalMonthDayNanoArray>()
        .ok_or_else(invalid)?;
    if cast.is_null(0) {
        return Err(invalid());
    }
    let v = cast.value(0);
    let micros = (v.months as i64 * 30 + v.days as i64) * 86_400_000_000 + v.nanoseconds / 1000;
    if micros <= 0 {
        return Err(Error::InvalidInput(format!(
            "retention must be positive, not \"{text}\""
        )));
    }
    Ok(micros)
}

/// Maps a SQL type to a column type; the types Grizzly stores are listed in `ColumnType`.
pub fn column_type(data_type: &ast::DataType) -> Result<ColumnType> {
    use ast::DataType as T;
    Ok(match data_type {
        T::SmallInt(_) | T::Int2(_) => ColumnType::SmallInt,
        T::Int(_) | T::Integer(_) | T::Int4(_) => ColumnType::Integer,
        T::BigInt(_) | T::Int8(_) => ColumnType::BigInt,
        T::Real | T::Float4 => ColumnType::Real,
        T::DoublePrecision | T::Float8 | T::Double(ExactNumberInfo::None) => ColumnType::Double,
        T::Float(ExactNumberInfo::Precision(p)) if *p <= 24 => ColumnType::Real,
        T::Float(_) => ColumnType::Double,
        T::Numeric(info) | T::Decimal(info) | T::Dec(info) => {
            let (precision, scale) = match info {
                ExactNumberInfo::None => DEFAULT_NUMERIC,
                ExactNumberInfo::Precision(p) => (*p as u8, 0),
                ExactNumberInfo::PrecisionAndScale(p, s) => (*p as u8, *s as i8),
            };
            if precision == 0 || precision > 38 {
                return Err(Error::InvalidInput(format!(
                    "NUMERIC precision {precision} must be between 1 and 38"
                )));
            }
            if scale < 0 || scale as u8 > precision {
                return Err(Error::InvalidInput(format!(
                    "NUMERIC scale {scale} must be between 0 and precision {precision}"
                )));
            }
            ColumnType::Numeric { precision, scale }
        }
        T::Text | T::String(None) => ColumnType::Text,
        T::Varchar(length) | T::CharacterVarying(length) | T::CharVarying(length) => {
            let max_len = match length {
                Some(CharacterLength::IntegerLength { length, .. }) => Some(*length as u32),
                _ => None,
            };
            ColumnType::Varchar { max_len }
        }
        T::Bool | T::Boolean => ColumnType::Boolean,
        T::Date => ColumnType::Date,
        T::Timestamp(_, TimezoneInfo::None | TimezoneInfo::WithoutTimeZone) => {
            ColumnType::Timestamp
        }
        T::Timestamp(_, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz) => ColumnType::TimestampTz,
        T::Bytea => ColumnType::Bytea,
        T::Custom(name, _) if name.to_string().eq_ignore_ascii_case("timestamptz") => {
            ColumnType::TimestampTz
        }
        T::Custom(name, _) if name.to_string().eq_ignore_ascii_case("bytea") => ColumnType::Bytea,
        other => {
            return Err(Error::Unsupported(format!(
                "type {other} is not supported yet; use smallint, integer, bigint, real, double \
                 precision, numeric(p,s), text, varchar(n), boolean, date, timestamp, timestamptz \
                 or bytea"
            )))
        }
    })
}

/// Parses a DEFAULT expression into a DataFusion expression. Only constants (and
/// expressions of constants, such as `now()`) are accepted.
pub fn parse_default(sql: &str) -> datafusion::error::Result<Expr> {
    static STATE: std::sync::LazyLock<datafusion::execution::SessionState> =
        std::sync::LazyLock::new(|| {
            datafusion::execution::SessionStateBuilder::new()
                .with_default_features()
                .build()
        });
    let mut parser = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .map_err(|e| Error::Syntax(e.to_string()))?;
    let ast = parser
        .parse_expr()
        .map_err(|e| Error::Syntax(e.to_string()))?;
    let mut has_column = false;
    let _ = ast::visit_expressions(&ast, |e| {
        if matches!(
            e,
            ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_)
        ) {
            has_column = true;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    if has_column {
        return Err(Error::InvalidInput(format!(
            "cannot use column reference in DEFAULT expression: {sql}"
        ))
        .into());
    }
    STATE.create_logical_expr(sql, &datafusion::common::DFSchema::empty())
}
