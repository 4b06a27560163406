//! `information_schema` as the SQL standard and PostgreSQL define it: what BI tools and
//! some drivers read to list schemas, tables and columns. DataFusion's own
//! information_schema is turned off: it names types the Arrow way (`Int64`, `Utf8View`)
//! and lacks the constraint views.
//!
//! Views: schemata, tables, columns, views, table_constraints, key_column_usage.
//! - tables lists Grizzly's tables and, as PostgreSQL does for a superuser, the
//!   pg_catalog and information_schema relations;
//! - columns lists the columns of Grizzly's tables, with PostgreSQL's `data_type` and
//!   `udt_name` spellings and their lengths, precisions and scales;
//! - table_constraints lists each NOT NULL column as the CHECK constraint PostgreSQL
//!   shows (`<namespace oid>_<table oid>_<column number>_not_null`); Grizzly has no
//!   primary, unique or foreign keys, so key_column_usage and views are empty.
//!
//! Every column is text except the numbers, which PostgreSQL types `cardinal_number`.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion_pg_catalog::pg_catalog::PG_CATALOG_TABLES;

use super::catalog_table::{self, int, text, Catalog, Row, Rows};
use super::pg_catalog::{table_oid, OWNER_OID, PG_CATALOG_VIEWS, PUBLIC_OID};
use super::ColumnType;

/// (view, its columns: name and whether it is a number).
pub(super) const VIEWS: &[(&str, &[(&str, bool)])] = &[
    (
        "schemata",
        &[
            ("catalog_name", false),
            ("schema_name", false),
            ("schema_owner", false),
            ("default_character_set_catalog", false),
            ("default_character_set_schema", false),
            ("default_character_set_name", false),
            ("sql_path", false),
        ],
    ),
    (
        "tables",
        &[
            ("table_catalog", false),
            ("table_schema", false),
            ("table_name", false),
            ("table_type", false),
            ("self_referencing_column_name", false),
            ("reference_generation", false),
            ("user_defined_type_catalog", false),
            ("user_defined_type_schema", false),
            ("user_defined_type_name", false),
            ("is_insertable_into", false),
            ("is_typed", false),
            ("commit_action", false),
        ],
    ),
    (
        "columns",
        &[
            ("table_catalog", false),
            ("table_schema", false),
            ("table_name", false),
            ("column_name", false),
            ("ordinal_position", true),
            ("column_default", false),
            ("is_nullable", false),
            ("data_type", false),
            ("character_maximum_length", true),
            ("character_octet_length", true),
            ("numeric_precision", true),
            ("numeric_precision_radix", true),
            ("numeric_scale", true),
            ("datetime_precision", true),
            ("interval_type", false),
            ("interval_precision", true),
            ("character_set_catalog", false),
            ("character_set_schema", false),
            ("character_set_name", false),
            ("collation_catalog", false),
            ("collation_schema", false),
            ("collation_name", false),
            ("domain_catalog", false),
            ("domain_schema", false),
            ("domain_name", false),
            ("udt_catalog", false),
            ("udt_schema", false),
            ("udt_name", false),
            ("scope_catalog", false),
            ("scope_schema", false),
            ("scope_name", false),
            ("maximum_cardinality", true),
            ("dtd_identifier", false),
            ("is_self_referencing", false),
            ("is_identity", false),
            ("identity_generation", false),
            ("identity_start", false),
            ("identity_increment", false),
            ("identity_maximum", false),
            ("identity_minimum", false),
            ("identity_cycle", false),
            ("is_generated", false),
            ("generation_expression", false),
            ("is_updatable", false),
        ],
    ),
    (
        "views",
        &[
            ("table_catalog", false),
            ("table_schema", false),
            ("table_name", false),
            ("view_definition", false),
            ("check_option", false),
            ("is_updatable", false),
            ("is_insertable_into", false),
            ("is_trigger_updatable", false),
            ("is_trigger_deletable", false),
            ("is_trigger_insertable_into", false),
        ],
    ),
    (
        "table_constraints",
        &[
            ("constraint_catalog", false),
            ("constraint_schema", false),
            ("constraint_name", false),
            ("table_catalog", false),
            ("table_schema", false),
            ("table_name", false),
            ("constraint_type", false),
            ("is_deferrable", false),
            ("initially_deferred", false),
            ("enforced", false),
            ("nulls_distinct", false),
        ],
    ),
    (
        "key_column_usage",
        &[
            ("constraint_catalog", false),
            ("constraint_schema", false),
            ("constraint_name", false),
            ("table_catalog", false),
            ("table_schema", false),
            ("table_name", false),
            ("column_name", false),
            ("ordinal_position", true),
            ("position_in_unique_constraint", true),
        ],
    ),
];

/// The `information_schema` schema of one session.
pub struct InformationSchema {
    catalog: Catalog,
}

impl std::fmt::Debug for InformationSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InformationSchema")
    }
}

impl InformationSchema {
    pub fn new(catalog: Catalog) -> InformationSchema {
        InformationSchema { catalog }
    }
}

fn schema_of(columns: &[(&str, bool)]) -> SchemaRef {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, number)| {
            let data_type = if *number {
                DataType::Int32
            } else {
                DataType::Utf8
            };
            Field::new(*name, data_type, true)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

#[async_trait]
impl SchemaProvider for InformationSchema {
    fn table_names(&self) -> Vec<String> {
        VIEWS.iter().map(|(name, _)| name.to_string()).collect()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let Some((_, columns)) = VIEWS.iter().find(|(view, _)| *view == name) else {
            return Ok(None);
        };
        let rows: Rows = match name {
            "schemata" => schemata,
            "tables" => tables,
            "columns" => columns_of_tables,
            "table_constraints" => not_null_constraints,
            _ => |_| Vec::new(),
        };
        let table = catalog_table::table(schema_of(columns), self.catalog.clone(), rows)?;
        Ok(Some(table))
    }

    fn table_exist(&self, name: &str) -> bool {
        VIEWS.iter().any(|(view, _)| *view == name)
    }
}

fn schemata(catalog: &Catalog) -> Vec<Row> {
    ["information_schema", "pg_catalog", "public"]
        .into_iter()
        .map(|schema| {
            vec![
                ("catalog_name", text(&catalog.database)),
                ("schema_name", text(schema)),
                (
                    "schema_owner",
                    ScalarValue::Utf8(catalog.role_name(OWNER_OID as u32)),
                ),
            ]
        })
        .collect()
}

fn tables(catalog: &Catalog) -> Vec<Row> {
    let user = catalog
        .tables()
        .into_iter()
        .map(|def| ("public", def.name, "BASE TABLE"));
    let pg_catalog = PG_CATALOG_TABLES.iter().map(|name| {
        let kind = if PG_CATALOG_VIEWS.contains(name) {
            "VIEW"
        } else {
            "BASE TABLE"
        };
        ("pg_catalog", name.to_string(), kind)
    });
    let information_schema = VIEWS
        .iter()
        .map(|(name, _)| ("information_schema", name.to_string(), "VIEW"));
    user.chain(pg_catalog)
        .chain(information_schema)
        .map(|(schema, name, kind)| {
            vec![
                ("table_catalog", text(&catalog.database)),
                ("table_schema", text(schema)),
                ("table_name", text(name)),
                ("table_type", text(kind)),
                (
                    "is_insertable_into",
                    text(if kind == "VIEW" { "NO" } else { "YES" }),
                ),
                ("is_typed", text("NO")),
            ]
        })
        .collect()
}

/// How information_schema.columns describes a type: data_type, udt_name, and the
/// character length, numeric precision, radix and scale, datetime precision.
fn described(column_type: &ColumnType) -> (&'static str, &'static str, [Option<i32>; 5]) {
    let number = |precision, radix, scale| [None, Some(precision), Some(radix), Some(scale), None];
    let time = [None, None, None, None, Some(6)];
    match column_type {
        ColumnType::SmallInt => ("smallint", "int2", number(16, 2, 0)),
        ColumnType::Integer => ("integer", "int4", number(32, 2, 0)),
        ColumnType::BigInt => ("bigint", "int8", number(64, 2, 0)),
        ColumnType::Real => ("real", "float4", [None, Some(24), Some(2), None, None]),
        ColumnType::Double => (
            "double precision",
            "float8",
            [None, Some(53), Some(2), None, None],
        ),
        ColumnType::Numeric { precision, scale } => (
            "numeric",
            "numeric",
            number(i32::from(*precision), 10, i32::from(*scale)),
        ),
        ColumnType::Text => ("text", "text", [None; 5]),
        ColumnType::Varchar { max_len } => (
            "character varying",
            "varchar",
            [max_len.map(|n| n as i32), None, None, None, None],
        ),
        ColumnType::Boolean => ("boolean", "bool", [None; 5]),
        ColumnType::Date => ("date", "date", [None, None, None, None, Some(0)]),
        ColumnType::Timestamp => ("timestamp without time zone", "timestamp", time),
        ColumnType::TimestampTz => ("timestamp with time zone", "timestamptz", time),
        ColumnType::Bytea => ("bytea", "bytea", [None; 5]),
    }
}

fn columns_of_tables(catalog: &Catalog) -> Vec<Row> {
    let mut rows = Vec::new();
    for def in catalog.tables() {
        for (position, column) in def.columns.iter().enumerate() {
            let (data_type, udt_name, sizes) = described(&column.column_type);
            let [length, precision, radix, scale, datetime] = sizes.map(ScalarValue::Int32);
            // PostgreSQL's character_octet_length: 4 bytes a character, 1 GB unbounded.
            let octets = match &column.column_type {
                ColumnType::Varchar { max_len: Some(n) } => Some(*n as i32 * 4),
                ColumnType::Text | ColumnType::Varchar { max_len: None } => Some(1 << 30),
                _ => None,
            };
            rows.push(vec![
                ("table_catalog", text(&catalog.database)),
                ("table_schema", text("public")),
                ("table_name", text(&def.name)),
                ("column_name", text(&column.name)),
                ("ordinal_position", int(position as i32 + 1)),
                ("column_default", ScalarValue::Utf8(column.default.clone())),
                (
                    "is_nullable",
                    text(if column.not_null { "NO" } else { "YES" }),
                ),
                ("data_type", text(data_type)),
                ("character_maximum_length", length),
                ("character_octet_length", ScalarValue::Int32(octets)),
                ("numeric_precision", precision),
                ("numeric_precision_radix", radix),
                ("numeric_scale", scale),
                ("datetime_precision", datetime),
                ("udt_catalog", text(&catalog.database)),
                ("udt_schema", text("pg_catalog")),
                ("udt_name", text(udt_name)),
                ("dtd_identifier", text((position + 1).to_string())),
                ("is_self_referencing", text("NO")),
                ("is_identity", text("NO")),
                ("identity_cycle", text("NO")),
                ("is_generated", text("NEVER")),
                ("is_updatable", text("YES")),
            ]);
        }
    }
    rows
}

fn not_null_constraints(catalog: &Catalog) -> Vec<Row> {
    let mut rows = Vec::new();
    for def in catalog.tables() {
        for (position, column) in def.columns.iter().enumerate() {
            if !column.not_null {
                continue;
            }
            let name = format!(
                "{PUBLIC_OID}_{}_{}_not_null",
                table_oid(def.id),
                position + 1
            );
            rows.push(vec![
                ("constraint_catalog", text(&catalog.database)),
                ("constraint_schema", text("public")),
                ("constraint_name", text(name)),
                ("table_catalog", text(&catalog.database)),
                ("table_schema", text("public")),
                ("table_name", text(&def.name)),
                ("constraint_type", text("CHECK")),
                ("is_deferrable", text("NO")),
                ("initially_deferred", text("NO")),
                ("enforced", text("YES")),
            ]);
        }
    }
    rows
}
