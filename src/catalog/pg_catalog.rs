//! `pg_catalog` for clients: psql's `\d` commands, drivers' metadata calls and BI tools'
//! schema browsers read these tables to learn what exists.
//!
//! Most of it comes from the datafusion-pg-catalog crate (see
//! `docs/decisions/2026-11-25-pg-catalog-library.md`): the static tables PostgreSQL ships
//! (pg_type, pg_proc, pg_am, …), the catalog functions (format_type, pg_get_expr,
//! has_*_privilege, pg_table_is_visible, …) and the rewrites of client catalog queries that
//! `sql/dialect.rs` applies. The tables that describe Grizzly's own tables are built here,
//! from the manifest, each time a query reads them: the library numbers relations in the
//! order one session happens to meet them, and clients keep OIDs (JDBC caches them across
//! queries, tools store them), so OIDs must not depend on that.
//!
//! OIDs, stable across restarts:
//! - namespaces: pg_catalog 11 and public 2200 (PostgreSQL's own), information_schema 13000;
//! - a Grizzly table: 16384 + its table id, which the manifest never reuses, even after a
//!   DROP (PostgreSQL's first user OID is 16384 too);
//! - pg_catalog and information_schema relations: 12000 and 13001 plus their position in
//!   a list fixed at compile time;
//! - the database: 16384.
//!
//! Not here: indexes, constraints other than NOT NULL, comments, and owners other than the
//! bootstrap superuser (OID 10): Grizzly has none of them.

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{CatalogProviderList, SchemaProvider, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_pg_catalog::pg_catalog::{
    PgCatalogSchemaProvider, PgCatalogStaticTables, PG_CATALOG_TABLES,
};
use parking_lot::Mutex;

use super::catalog_table::{self, boolean, int, int16, text, text_list, Catalog, Row, Rows};
use super::information_schema::{self, InformationSchema};
use super::ColumnType;
use crate::auth::Roles;
use crate::sql::settings::Settings;
use crate::storage::Database;

pub const PG_CATALOG_OID: i32 = 11;
pub const PUBLIC_OID: i32 = 2200;
pub const INFORMATION_SCHEMA_OID: i32 = 13000;
pub const DATABASE_OID: i32 = 16384;
/// The bootstrap superuser's OID, owner of everything.
pub const OWNER_OID: i32 = 10;
/// PostgreSQL's "default" collation, which text columns carry.
const DEFAULT_COLLATION_OID: i32 = 100;

/// The OID a Grizzly table is known by.
pub fn table_oid(table_id: u64) -> i32 {
    16384 + table_id as i32
}

/// Whether `oid` is one of information_schema's views (numbered from 13001).
pub fn is_information_schema_view(oid: i64) -> bool {
    let first = i64::from(information_schema_oid(0));
    (first..first + information_schema::VIEWS.len() as i64).contains(&oid)
}

/// The OID of the pg_catalog relation at `index` in the library's list.
fn pg_catalog_oid(index: usize, name: &str) -> i32 {
    CATALOG_OIDS
        .iter()
        .find(|(catalog, _)| *catalog == name)
        .map_or(12000 + index as i32, |(_, oid)| *oid)
}

/// The OID of the information_schema view at `index` in its list.
fn information_schema_oid(index: usize) -> i32 {
    INFORMATION_SCHEMA_OID + 1 + index as i32
}

/// The OID of relation `name` in `schema`, or found on the search path (pg_catalog,
/// then public) when `schema` is `None`: what `'name'::regclass` resolves to.
pub fn relation_oid(db: &Database, schema: Option<&str>, name: &str) -> Option<i32> {
    let in_pg_catalog = || {
        let index = PG_CATALOG_TABLES.iter().position(|t| *t == name)?;
        Some(pg_catalog_oid(index, name))
    };
    let in_public = || db.table(name).map(|def| table_oid(def.id));
    match schema {
        None => in_pg_catalog().or_else(in_public),
        Some("pg_catalog") => in_pg_catalog(),
        Some("public") => in_public(),
        Some("information_schema") => information_schema::VIEWS
            .iter()
            .position(|(view, _)| *view == name)
            .map(information_schema_oid),
        Some(_) => None,
    }
}

/// The static tables, decoded once per process from data compiled into the binary.
static STATIC_TABLES: LazyLock<Arc<PgCatalogStaticTables>> = LazyLock::new(|| {
    Arc::new(
        PgCatalogStaticTables::try_new()
            .expect("pg_catalog data compiled into the binary decodes (tests read it)"),
    )
});

/// The library's static tables (decoded at the first use).
pub fn static_tables() -> &'static PgCatalogStaticTables {
    STATIC_TABLES.as_ref()
}

type Library = PgCatalogSchemaProvider<Arc<dyn CatalogProviderList>, EmptyContextProvider>;

/// The `pg_catalog` schema of one session.
pub struct PgCatalog {
    catalog: Catalog,
    library: Library,
}

impl std::fmt::Debug for PgCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgCatalog")
    }
}

impl PgCatalog {
    pub fn new(catalog: Catalog, catalogs: Arc<dyn CatalogProviderList>) -> Result<PgCatalog> {
        let library = PgCatalogSchemaProvider::try_new(
            catalogs,
            STATIC_TABLES.clone(),
            EmptyContextProvider,
        )?;
        Ok(PgCatalog { catalog, library })
    }

    /// The library's schema for `name`, which Grizzly's version of the table keeps so
    /// that the rewritten client queries written against it still plan.
    fn library_schema(&self, name: &str) -> Result<SchemaRef> {
        match self.library.build_table_by_name(name)? {
            Some(table) => Ok(table.schema()),
            None => Err(DataFusionError::Internal(format!(
                "pg_catalog.{name} is missing from datafusion-pg-catalog"
            ))),
        }
    }

    fn grizzly_table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if let Some(table) = super::pg_vectors::table(name)? {
            return Ok(Some(table));
        }
        let rows: Rows = match name {
            "pg_namespace" => namespaces,
            "pg_class" => classes,
            "pg_attribute" => attributes,
            "pg_attrdef" => defaults,
            "pg_database" => databases,
            "pg_settings" => settings,
            "pg_stat_user_tables" => table_statistics,
            "pg_roles" | "pg_authid" => roles,
            _ => return Ok(None),
        };
        let mut schema = self.library_schema(name)?;
        if name == "pg_class" {
            // The library's pg_class lacks reloptions, which psql's \d+ reads.
            let mut fields: Vec<_> = schema.fields().iter().cloned().collect();
            let item = Arc::new(Field::new("item", DataType::Utf8, true));
            fields.push(Arc::new(Field::new(
                "reloptions",
                DataType::List(item),
                true,
            )));
            schema = Arc::new(Schema::new(fields));
        }
        Ok(Some(catalog_table::table(
            schema,
            self.catalog.clone(),
            rows,
        )?))
    }
}

#[async_trait]
impl SchemaProvider for PgCatalog {
    fn table_names(&self) -> Vec<String> {
        self.library.table_names()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        match self.grizzly_table(name)? {
            Some(table) => Ok(Some(table)),
            None => self.library.table(name).await,
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        self.library.table_exist(name)
    }
}

fn namespaces(_: &Catalog) -> Vec<Row> {
    [
        (PG_CATALOG_OID, "pg_catalog"),
        (PUBLIC_OID, "public"),
        (INFORMATION_SCHEMA_OID, "information_schema"),
    ]
    .into_iter()
    .map(|(oid, name)| {
        vec![
            ("oid", int(oid)),
            ("nspname", text(name)),
            ("nspowner", int(OWNER_OID)),
        ]
    })
    .collect()
}

/// pg_catalog relations that PostgreSQL defines as views.
pub(super) const PG_CATALOG_VIEWS: &[&str] = &[
    "pg_matviews",
    "pg_replication_slots",
    "pg_roles",
    "pg_settings",
    "pg_stat_gssapi",
    "pg_stat_user_tables",
    "pg_tables",
    "pg_views",
];

/// PostgreSQL's own OIDs of its catalogs, which pg_description.classoid and clients'
/// `'pg_class'::regclass` joins use; the rest get 12000 + their place in the list.
const CATALOG_OIDS: &[(&str, i32)] = &[
    ("pg_am", 2601),
    ("pg_attrdef", 2604),
    ("pg_attribute", 1249),
    ("pg_authid", 1260),
    ("pg_class", 1259),
    ("pg_collation", 3456),
    ("pg_constraint", 2606),
    ("pg_database", 1262),
    ("pg_depend", 2608),
    ("pg_description", 2609),
    ("pg_index", 2610),
    ("pg_inherits", 2611),
    ("pg_namespace", 2615),
    ("pg_proc", 1255),
    ("pg_rewrite", 2618),
    ("pg_tablespace", 1213),
    ("pg_trigger", 2620),
    ("pg_type", 1247),
];

fn classes(catalog: &Catalog) -> Vec<Row> {
    let mut rows = Vec::new();
    for def in catalog.tables() {
        rows.push(vec![
            ("oid", int(table_oid(def.id))),
            ("relname", text(&def.name)),
            ("relnamespace", int(PUBLIC_OID)),
            ("relowner", int(OWNER_OID)),
            ("relfilenode", int(table_oid(def.id))),
            (
                "reltuples",
                ScalarValue::Float64(catalog.rows(&def).map(|r| r as f64)),
            ),
            ("relpersistence", text("p")),
            ("relkind", text("r")),
            ("relnatts", int16(def.columns.len() as i16)),
            ("reloptions", text_list(def.options())),
            ("relispopulated", boolean(true)),
            ("relreplident", text("d")),
        ]);
    }
    let pg_catalog = PG_CATALOG_TABLES.iter().enumerate().map(|(i, name)| {
        let kind = if PG_CATALOG_VIEWS.contains(name) {
            "v"
        } else {
            "r"
        };
        (pg_catalog_oid(i, name), *name, PG_CATALOG_OID, kind)
    });
    let information_schema = information_schema::VIEWS
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            (
                information_schema_oid(i),
                *name,
                INFORMATION_SCHEMA_OID,
                "v",
            )
        });
    for (oid, name, namespace, kind) in pg_catalog.chain(information_schema) {
        rows.push(vec![
            ("oid", int(oid)),
            ("relname", text(name)),
            ("relnamespace", int(namespace)),
            ("relowner", int(OWNER_OID)),
            ("reltuples", ScalarValue::Float64(Some(-1.0))),
            ("relpersistence", text("p")),
            ("relkind", text(kind)),
            ("relispopulated", boolean(true)),
            ("relreplident", text("n")),
        ]);
    }
    rows
}

/// `atttypmod` of numeric(p, s): precision and scale packed, plus PostgreSQL's 4-byte
/// header.
pub fn numeric_typmod(precision: u8, scale: i8) -> i32 {
    ((i32::from(precision) << 16) | (i32::from(scale) & 0xffff)) + 4
}

/// `atttypmod` of varchar(n).
pub fn varchar_typmod(max_len: u32) -> i32 {
    max_len as i32 + 4
}

/// How PostgreSQL stores a column type: (type OID, length or -1, typmod or -1,
/// passed by value, alignment, storage).
fn storage_of(column_type: &ColumnType) -> (i32, i16, i32, bool, &'static str, &'static str) {
    match column_type {
        ColumnType::SmallInt => (21, 2, -1, true, "s", "p"),
        ColumnType::Integer => (23, 4, -1, true, "i", "p"),
        ColumnType::BigInt => (20, 8, -1, true, "d", "p"),
        ColumnType::Real => (700, 4, -1, true, "i", "p"),
        ColumnType::Double => (701, 8, -1, true, "d", "p"),
        ColumnType::Numeric { precision, scale } => (
            1700,
            -1,
            numeric_typmod(*precision, *scale),
            false,
            "i",
            "m",
        ),
        ColumnType::Text => (25, -1, -1, false, "i", "x"),
        ColumnType::Varchar { max_len } => (
            1043,
            -1,
            max_len.map_or(-1, varchar_typmod),
            false,
            "i",
            "x",
        ),
        ColumnType::Boolean => (16, 1, -1, true, "c", "p"),
        ColumnType::Date => (1082, 4, -1, true, "i", "p"),
        ColumnType::Timestamp => (1114, 8, -1, true, "d", "p"),
        ColumnType::TimestampTz => (1184, 8, -1, true, "d", "p"),
        ColumnType::Bytea => (17, -1, -1, false, "i", "x"),
    }
}

/// The type OID of a column of this type, as RowDescription and pg_attribute give it.
pub fn type_oid(column_type: &ColumnType) -> i32 {
    storage_of(column_type).0
}

fn attributes(catalog: &Catalog) -> Vec<Row> {
    let mut rows = Vec::new();
    for def in catalog.tables() {
        for (position, column) in def.columns.iter().enumerate() {
            let (type_oid, len, typmod, by_value, align, storage) = storage_of(&column.column_type);
            let collation = match column.column_type {
                ColumnType::Text | ColumnType::Varchar { .. } => DEFAULT_COLLATION_OID,
                _ => 0,
            };
            rows.push(vec![
                ("attrelid", int(table_oid(def.id))),
                ("attname", text(&column.name)),
                ("atttypid", int(type_oid)),
                ("attstattarget", int(-1)),
                ("attlen", int16(len)),
                ("attnum", int16(position as i16 + 1)),
                ("attcacheoff", int(-1)),
                ("atttypmod", int(typmod)),
                ("attbyval", boolean(by_value)),
                ("attalign", text(align)),
                ("attstorage", text(storage)),
                ("attnotnull", boolean(column.not_null)),
                ("atthasdef", boolean(column.default.is_some())),
                ("attislocal", boolean(true)),
                ("attcollation", int(collation)),
            ]);
        }
    }
    rows
}

/// Column defaults; `adbin` holds the expression as SQL text, which the library's
/// `pg_get_expr` returns as it is.
fn defaults(catalog: &Catalog) -> Vec<Row> {
    let mut rows = Vec::new();
    for def in catalog.tables() {
        for (position, column) in def.columns.iter().enumerate() {
            if let Some(default) = &column.default {
                rows.push(vec![
                    ("oid", int(table_oid(def.id))),
                    ("adrelid", int(table_oid(def.id))),
                    ("adnum", int16(position as i16 + 1)),
                    (
                        "adbin",
                        text(default_expression(default, &column.column_type)),
                    ),
                ]);
            }
        }
    }
    rows
}

/// A default as PostgreSQL deparses it: a quoted literal carries its type
/// (`'none'::text`, `'a'::character varying`), while a quoted number or boolean is
/// folded to the constant (`'1.5'` is `1.5`).
fn default_expression(default: &str, column_type: &ColumnType) -> String {
    let quoted = default.len() >= 2 && default.starts_with('\'') && default.ends_with('\'');
    if !quoted {
        return default.to_string();
    }
    match column_type {
        ColumnType::SmallInt
        | ColumnType::Integer
        | ColumnType::BigInt
        | ColumnType::Real
        | ColumnType::Double
        | ColumnType::Numeric { .. }
        | ColumnType::Boolean => default[1..default.len() - 1].to_string(),
        ColumnType::Varchar { .. } => format!("{default}::character varying"),
        other => format!("{default}::{}", other.sql_name()),
    }
}

fn databases(catalog: &Catalog) -> Vec<Row> {
    vec![vec![
        ("oid", int(DATABASE_OID)),
        ("datname", text(&catalog.database)),
        ("datdba", int(OWNER_OID)),
        ("encoding", int(6)),
        ("datlocprovider", text("c")),
        ("datcollate", text("C")),
        ("datctype", text("C")),
        ("datallowconn", boolean(true)),
        ("datconnlimit", int(-1)),
    ]]
}

fn settings(catalog: &Catalog) -> Vec<Row> {
    let settings = catalog.settings.lock();
    settings
        .all()
        .map(|(name, value)| {
            vec![
                ("name", text(name)),
                ("setting", text(value)),
                ("context", text("user")),
                ("vartype", text("string")),
                ("source", text("session")),
            ]
        })
        .collect()
}

fn table_statistics(catalog: &Catalog) -> Vec<Row> {
    catalog
        .tables()
        .into_iter()
        .map(|def| {
            let live = catalog.rows(&def).unwrap_or(0);
            vec![
                ("relid", int(table_oid(def.id))),
                ("schemaname", text("public")),
                ("relname", text(&def.name)),
                ("n_live_tup", ScalarValue::Int64(Some(live as i64))),
            ]
        })
        .collect()
}

/// Installs pg_catalog and information_schema in a new session (whose own DataFusion
/// information_schema must be off): the schemas, the catalog functions clients call
/// and the planner's knowledge of oid-alias types (`regclass`, `regtype`, …).
/// `current_database`, `current_schema`, `session_user` and `pg_backend_pid` are the
/// session's own (`sql/functions.rs`); `pg_functions.rs` has those the library lacks or
/// Grizzly answers differently.
pub fn install(
    ctx: &datafusion::prelude::SessionContext,
    db: Arc<Database>,
    roles: Arc<Roles>,
    database: &str,
    settings: Arc<Mutex<Settings>>,
) -> Result<()> {
    use datafusion_pg_catalog::pg_catalog::{self as lib, array_bounds_udf, quote_ident_udf};
    let catalogs = ctx.state().catalog_list().clone();
    let tables = Catalog {
        db: db.clone(),
        roles,
        database: database.to_string(),
        settings,
    };
    let catalog = ctx
        .catalog("datafusion")
        .ok_or_else(|| DataFusionError::Internal("the default catalog is missing".into()))?;
    let information_schema = InformationSchema::new(tables.clone());
    catalog.register_schema("information_schema", Arc::new(information_schema))?;
    catalog.register_schema(
        "pg_catalog",
        Arc::new(PgCatalog::new(tables.clone(), catalogs)?),
    )?;
    let privilege = lib::has_privilege_udf::create_has_privilege_udf;
    for function in [
        privilege("has_table_privilege"),
        privilege("has_schema_privilege"),
        privilege("has_database_privilege"),
        privilege("has_any_column_privilege"),
        lib::format_type::create_format_type_udf(),
        lib::create_pg_get_partkeydef_udf(),
        lib::create_pg_relation_is_publishable_udf(),
        lib::create_pg_get_statisticsobjdef_columns_udf(),
        lib::create_pg_encoding_to_char_udf(),
        lib::create_pg_stat_get_numscans(),
        lib::create_pg_get_constraintdef(),
        lib::create_pg_get_partition_ancestors_udf(),
        quote_ident_udf::create_quote_ident_udf(),
        quote_ident_udf::create_parse_ident_udf(),
        array_bounds_udf::create_array_upper_udf(),
        array_bounds_udf::create_array_lower_udf(),
    ]
    .into_iter()
    .chain(super::pg_functions::functions(
        STATIC_TABLES.as_ref(),
        &tables,
    )) {
        ctx.register_udf(function);
    }
    ctx.register_udtf("pg_get_keywords", STATIC_TABLES.pg_get_keywords.clone());
    lib::generate_series_arg_coercion::CoerceIntArgsToBigInt::widen(ctx);
    Ok(())
}

/// pg_roles, and pg_authid (the same rows: the password column shows `********`, never
/// the verifier).
fn roles(catalog: &Catalog) -> Vec<Row> {
    catalog
        .roles
        .all()
        .into_iter()
        .map(|role| {
            vec![
                ("oid", int(role.oid as i32)),
                ("rolname", text(&role.name)),
                ("rolsuper", boolean(role.superuser)),
                ("rolinherit", boolean(true)),
                ("rolcreaterole", boolean(role.superuser)),
                ("rolcreatedb", boolean(role.superuser)),
                ("rolcanlogin", boolean(role.login)),
                ("rolreplication", boolean(false)),
                ("rolbypassrls", boolean(role.superuser)),
                ("rolconnlimit", int(-1)),
                ("rolpassword", text("********")),
            ]
        })
        .collect()
}
