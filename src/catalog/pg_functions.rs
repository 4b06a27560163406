//! Catalog functions Grizzly answers itself: those datafusion-pg-catalog lacks
//! (`pg_get_function_result`, `pg_get_function_arguments`, which psql's `\df` calls) and
//! those it answers with a placeholder (`pg_get_expr`, `current_schemas`,
//! `pg_get_userbyid`, the relation sizes); `pg_size_pretty`, and the comment functions,
//! which answer NULL (Grizzly keeps no comments).
//!
//! Function signatures come from the library's copy of PostgreSQL's pg_proc and pg_type,
//! read once per process.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int32Array, Int32Builder, Int64Array, ListBuilder,
    StringArray, StringBuilder, StructBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Int64Type};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use datafusion_pg_catalog::pg_catalog::PgCatalogStaticTables;

use super::catalog_table::Catalog;
use crate::storage::{Database, TableSnapshot};

/// Read once per process, at the first session.
static SIGNATURES: OnceLock<Arc<Signatures>> = OnceLock::new();

pub fn functions(tables: &PgCatalogStaticTables, catalog: &Catalog) -> Vec<ScalarUDF> {
    let db = catalog.db.clone();
    let signatures = SIGNATURES
        .get_or_init(|| Arc::new(Signatures::read(tables)))
        .clone();
    // Functions about objects Grizzly has none of (comments, sequences, expression
    // indexes): NULL, as PostgreSQL answers for an object without one.
    let null_text = |name| {
        let signature = Signature::one_of(
            vec![
                TypeSignature::Any(1),
                TypeSignature::Any(2),
                TypeSignature::Any(3),
            ],
            Volatility::Stable,
        );
        function(name, signature, DataType::Utf8, |args| {
            Ok(datafusion::arrow::array::new_null_array(
                &DataType::Utf8,
                args[0].len(),
            ))
        })
    };
    let sizes: [(&'static str, Size); 4] = [
        ("pg_table_size", stored_bytes),
        ("pg_relation_size", stored_bytes),
        ("pg_total_relation_size", stored_bytes),
        ("pg_indexes_size", |_| 0),
    ];
    let mut functions = vec![
        expression_text(),
        current_schemas(),
        user_by_id(catalog.clone()),
        size_pretty(),
        null_text("col_description"),
        null_text("obj_description"),
        null_text("shobj_description"),
        null_text("pg_get_serial_sequence"),
        null_text("pg_get_indexdef"),
        table_is_visible(),
        type_of(),
        to_regclass(db.clone()),
        expand_array(),
        visible("pg_type_is_visible"),
        visible("pg_function_is_visible"),
        visible("pg_collation_is_visible"),
        format(),
        quote_literal(),
        json_build_object(),
        advisory_unlock_all(),
        to_regtype(signatures.clone()),
        function_text("pg_get_function_result", signatures.clone(), |f| {
            f.result.clone()
        }),
        function_text("pg_get_function_arguments", signatures.clone(), |f| {
            f.arguments.clone()
        }),
        function_text("pg_get_function_identity_arguments", signatures, |f| {
            f.arguments.clone()
        }),
    ];
    for (name, size) in sizes {
        functions.push(relation_size(name, db.clone(), size));
    }
    functions
}

/// How big a table is, in one sense.
type Size = fn(&TableSnapshot) -> u64;

/// The bytes of a table's blocks; rows not yet flushed are in the WAL, not counted.
fn stored_bytes(snapshot: &TableSnapshot) -> u64 {
    snapshot.blocks.iter().map(|b| b.bytes).sum()
}

/// `pg_table_size(oid)` and its kin: NULL for an OID that is not a table, as PostgreSQL.
fn relation_size(name: &'static str, db: Arc<Database>, size: Size) -> ScalarUDF {
    let signature = Signature::any(1, Volatility::Volatile);
    function(name, signature, DataType::Int64, move |args| {
        let oids = datafusion::arrow::compute::cast(&args[0], &DataType::Int64)?;
        let sizes: Int64Array = oids
            .as_primitive::<Int64Type>()
            .iter()
            .map(|oid| {
                let table_id =
                    u64::try_from(oid? - i64::from(super::pg_catalog::table_oid(0))).ok()?;
                db.snapshot(table_id).map(|s| size(&s) as i64)
            })
            .collect();
        Ok(Arc::new(sizes))
    })
}

/// `pg_size_pretty(bigint)`: bytes, kB, MB, GB, TB or PB, as PostgreSQL rounds them
/// (a unit is used from 10 of it, halves rounded away from zero).
fn size_pretty() -> ScalarUDF {
    let signature = Signature::exact(vec![DataType::Int64], Volatility::Immutable);
    function("pg_size_pretty", signature, DataType::Utf8, |args| {
        let texts: StringArray = args[0]
            .as_primitive::<Int64Type>()
            .iter()
            .map(|size| size.map(pretty_size))
            .collect();
        Ok(Arc::new(texts))
    })
}

fn pretty_size(bytes: i64) -> String {
    const LIMIT: i64 = 10 * 1024;
    if bytes.abs() < LIMIT {
        return format!("{bytes} bytes");
    }
    let half_rounded = |half: i64| (half + half.signum()) / 2;
    // In halves of the unit, so that the last shift can round.
    let mut halves = bytes >> 9;
    for unit in ["kB", "MB", "GB", "TB"] {
        if halves.abs() < LIMIT * 2 - 1 {
            return format!("{} {unit}", half_rounded(halves));
        }
        halves >>= 10;
    }
    format!("{} PB", half_rounded(halves))
}

/// `pg_table_is_visible(oid)`: whether a relation's schema is on the search path, which
/// holds pg_catalog and public; information_schema's views are not on it.
fn table_is_visible() -> ScalarUDF {
    function(
        "pg_table_is_visible",
        Signature::any(1, Volatility::Stable),
        DataType::Boolean,
        |args| {
            let oids = datafusion::arrow::compute::cast(&args[0], &DataType::Int64)?;
            let values: BooleanArray = oids
                .as_primitive::<Int64Type>()
                .iter()
                .map(|oid| oid.map(|oid| !super::pg_catalog::is_information_schema_view(oid)))
                .collect();
            Ok(Arc::new(values))
        },
    )
}

/// `to_regclass(name)`: the OID of the relation a possibly qualified, possibly quoted
/// name (`public."My Table"`) names, NULL if there is none. Casts of computed text to
/// regclass are planned as this (see `client_queries`).
fn to_regclass(db: Arc<Database>) -> ScalarUDF {
    function(
        "to_regclass",
        Signature::exact(vec![DataType::Utf8], Volatility::Stable),
        DataType::Int32,
        move |args| {
            let names = args[0].as_string::<i32>();
            let oids: Int32Array = names
                .iter()
                .map(|name| {
                    let parts = identifier_parts(name?)?;
                    match parts.as_slice() {
                        [name] => super::pg_catalog::relation_oid(&db, None, name),
                        [schema, name] => super::pg_catalog::relation_oid(&db, Some(schema), name),
                        _ => None,
                    }
                })
                .collect();
            Ok(Arc::new(oids))
        },
    )
}

/// The parts of a dotted name as PostgreSQL reads it (`public."My Table"`): unquoted
/// parts fold to lower case; `None` if it is not a name.
fn identifier_parts(name: &str) -> Option<Vec<String>> {
    use datafusion::sql::sqlparser::{
        dialect::PostgreSqlDialect, parser::Parser, tokenizer::Token,
    };
    let mut parser = Parser::new(&PostgreSqlDialect {}).try_with_sql(name).ok()?;
    let object = parser.parse_object_name(false).ok()?;
    if parser.peek_token().token != Token::EOF {
        return None;
    }
    let parts = object
        .0
        .iter()
        .map(|part| part.as_ident().map(crate::sql::ddl::normalize_ident));
    parts.collect()
}

/// `_pg_expandarray(ints)` (information_schema's, which pgjdbc's getPrimaryKeys calls):
/// each element with its position, as a list of `{x, n}` that `client_queries` unnests;
/// PostgreSQL's is a set-returning function of the same rows.
fn expand_array() -> ScalarUDF {
    let int = |name| Arc::new(Field::new(name, DataType::Int32, true));
    let element = DataType::Struct(vec![int("x"), int("n")].into());
    let returns = DataType::List(Arc::new(Field::new("item", element.clone(), true)));
    function(
        "_pg_expandarray",
        Signature::any(1, Volatility::Immutable),
        returns,
        move |args| {
            let item = Arc::new(Field::new("item", DataType::Int32, true));
            let lists = datafusion::arrow::compute::cast(&args[0], &DataType::List(item))?;
            let lists = lists.as_list::<i32>();
            let DataType::Struct(fields) = &element else {
                unreachable!("the element type is a struct")
            };
            let mut builder = ListBuilder::new(StructBuilder::from_fields(fields.clone(), 0));
            for list in lists.iter() {
                let Some(list) = list else {
                    builder.append_null();
                    continue;
                };
                let entries = builder.values();
                for (position, value) in list.as_primitive::<Int32Type>().iter().enumerate() {
                    let x = entries.field_builder::<Int32Builder>(0).expect("x is int");
                    x.append_option(value);
                    let n = entries.field_builder::<Int32Builder>(1).expect("n is int");
                    n.append_value(position as i32 + 1);
                    entries.append(true);
                }
                builder.append(true);
            }
            Ok(Arc::new(builder.finish()))
        },
    )
}

/// `pg_typeof(value)`: the name of the value's type, as `format_type` spells it.
fn type_of() -> ScalarUDF {
    function(
        "pg_typeof",
        Signature::any(1, Volatility::Immutable),
        DataType::Utf8,
        |args| {
            let name = match args[0].data_type() {
                DataType::Null => "unknown".to_string(),
                other => sql_type_name(crate::wire::types::pg_type(other).name()),
            };
            Ok(Arc::new(StringArray::from(vec![name; args[0].len()])))
        },
    )
}

/// `pg_type_is_visible(oid)` and its kin: built-in types, functions and collations live
/// in pg_catalog, which is always on the search path.
fn visible(name: &'static str) -> ScalarUDF {
    function(
        name,
        Signature::any(1, Volatility::Stable),
        DataType::Boolean,
        |args| {
            let values: BooleanArray = (0..args[0].len())
                .map(|row| (!args[0].is_null(row)).then_some(true))
                .collect();
            Ok(Arc::new(values))
        },
    )
}

/// `format(text, args…)`: `%s` a value as text (NULL as nothing), `%I` an identifier
/// quoted where needed, `%L` a literal quoted (NULL as NULL), `%%` a percent sign.
fn format() -> ScalarUDF {
    let signature = Signature::variadic_any(Volatility::Immutable);
    function("format", signature, DataType::Utf8, |args| {
        let texts = args
            .iter()
            .map(|a| datafusion::arrow::compute::cast(a, &DataType::Utf8))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let texts: Vec<&StringArray> = texts.iter().map(|a| a.as_string::<i32>()).collect();
        let Some((template, values)) = texts.split_first() else {
            return Err(DataFusionError::Plan("format needs a format string".into()));
        };
        let mut out = StringBuilder::new();
        for row in 0..template.len() {
            if template.is_null(row) {
                out.append_null();
                continue;
            }
            let value = |i: usize| {
                values
                    .get(i)
                    .and_then(|v| (!v.is_null(row)).then(|| v.value(row)))
            };
            out.append_value(format_one(template.value(row), values.len(), value)?);
        }
        Ok(Arc::new(out.finish()))
    })
}

fn format_one<'a>(
    template: &str,
    count: usize,
    value: impl Fn(usize) -> Option<&'a str>,
) -> Result<String> {
    let mut out = String::new();
    let mut next = 0;
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let kind = chars.next();
        if kind == Some('%') {
            out.push('%');
            continue;
        }
        if next >= count {
            return Err(DataFusionError::Execution(
                "too few arguments for format()".into(),
            ));
        }
        let argument = value(next);
        next += 1;
        match (kind, argument) {
            (Some('s'), text) => out.push_str(text.unwrap_or_default()),
            (Some('I'), Some(name)) => out.push_str(&quote_identifier(name)),
            (Some('I'), None) => {
                return Err(DataFusionError::Execution(
                    "null values cannot be formatted as an SQL identifier".into(),
                ))
            }
            (Some('L'), Some(text)) => out.push_str(&format!("'{}'", text.replace('\'', "''"))),
            (Some('L'), None) => out.push_str("NULL"),
            (other, _) => {
                return Err(DataFusionError::Execution(format!(
                    "unrecognized format() type specifier \"{}\"; use %s, %I, %L or %%",
                    other.map(String::from).unwrap_or_default()
                )))
            }
        }
    }
    Ok(out)
}

/// An identifier as `quote_ident` writes it: bare if lower-case letters, digits and
/// underscores (not starting with a digit), else in double quotes.
fn quote_identifier(name: &str) -> String {
    let bare = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    match bare {
        true => name.to_string(),
        false => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// `pg_get_expr(expr, relation [, pretty])`: the expression's SQL text. Grizzly keeps
/// column defaults as SQL text (`pg_attrdef.adbin`), so the text is the expression.
fn expression_text() -> ScalarUDF {
    let signature = Signature::one_of(
        vec![TypeSignature::Any(2), TypeSignature::Any(3)],
        Volatility::Stable,
    );
    function("pg_get_expr", signature, DataType::Utf8, |args| {
        Ok(datafusion::arrow::compute::cast(&args[0], &DataType::Utf8)?)
    })
}

/// `current_schemas(include_implicit)`: the search path, `{pg_catalog,public}` with the
/// implicit pg_catalog, `{public}` without, as PostgreSQL's default search_path gives.
fn current_schemas() -> ScalarUDF {
    let item = Arc::new(Field::new("item", DataType::Utf8, true));
    let signature = Signature::exact(vec![DataType::Boolean], Volatility::Stable);
    let list = DataType::List(item.clone());
    function("current_schemas", signature, list, move |args| {
        let implicit = args[0].as_boolean();
        let mut builder = ListBuilder::new(StringBuilder::new()).with_field(item.clone());
        for row in 0..implicit.len() {
            if implicit.is_null(row) {
                builder.append_null();
                continue;
            }
            if implicit.value(row) {
                builder.values().append_value("pg_catalog");
            }
            builder.values().append_value("public");
            builder.append(true);
        }
        Ok(Arc::new(builder.finish()))
    })
}

/// `pg_get_userbyid(oid)`: the role's name, or `unknown (OID=n)` as PostgreSQL says.
fn user_by_id(catalog: Catalog) -> ScalarUDF {
    let signature = Signature::any(1, Volatility::Stable);
    function("pg_get_userbyid", signature, DataType::Utf8, move |args| {
        let oids = datafusion::arrow::compute::cast(&args[0], &DataType::Int64)?;
        let names: StringArray = oids
            .as_primitive::<Int64Type>()
            .iter()
            .map(|oid| {
                let oid = oid?;
                let name = u32::try_from(oid).ok().and_then(|o| catalog.role_name(o));
                Some(name.unwrap_or_else(|| format!("unknown (OID={oid})")))
            })
            .collect();
        Ok(Arc::new(names))
    })
}

/// A text function of a function's OID, NULL for an unknown OID, as PostgreSQL gives.
fn function_text(
    name: &'static str,
    signatures: Arc<Signatures>,
    text: fn(&FunctionSignature) -> String,
) -> ScalarUDF {
    let signature = Signature::any(1, Volatility::Stable);
    function(name, signature, DataType::Utf8, move |args| {
        let oids = datafusion::arrow::compute::cast(&args[0], &DataType::Int32)?;
        let texts: StringArray = oids
            .as_primitive::<Int32Type>()
            .iter()
            .map(|oid| signatures.functions.get(&oid?).map(text))
            .collect();
        Ok(Arc::new(texts))
    })
}

/// `to_regtype(name)`: the OID of a type by any of its names (`int4`, `integer`),
/// NULL if there is none.
fn to_regtype(signatures: Arc<Signatures>) -> ScalarUDF {
    let signature = Signature::exact(vec![DataType::Utf8], Volatility::Stable);
    function("to_regtype", signature, DataType::Int32, move |args| {
        let oids: Int32Array = args[0]
            .as_string::<i32>()
            .iter()
            .map(|name| {
                let name = name?
                    .trim()
                    .trim_start_matches("pg_catalog.")
                    .to_ascii_lowercase();
                signatures.type_oids.get(&name).copied()
            })
            .collect();
        Ok(Arc::new(oids))
    })
}

/// `quote_literal(text)`: the value as a string literal, `E'…'` when it holds a
/// backslash, as PostgreSQL writes it.
fn quote_literal() -> ScalarUDF {
    let signature = Signature::any(1, Volatility::Immutable);
    function("quote_literal", signature, DataType::Utf8, |args| {
        let texts = datafusion::arrow::compute::cast(&args[0], &DataType::Utf8)?;
        let quoted: StringArray = texts
            .as_string::<i32>()
            .iter()
            .map(|text| {
                let text = text?;
                let body = text.replace('\'', "''");
                Some(match text.contains('\\') {
                    true => format!("E'{}'", body.replace('\\', "\\\\")),
                    false => format!("'{body}'"),
                })
            })
            .collect();
        Ok(Arc::new(quoted))
    })
}

/// `json_build_object(key, value, …)`: a JSON object, as text; values keep their JSON
/// kind (numbers and booleans bare, text quoted, NULL as null).
fn json_build_object() -> ScalarUDF {
    let signature = Signature::variadic_any(Volatility::Stable);
    function("json_build_object", signature, DataType::Utf8, |args| {
        if args.len() % 2 != 0 {
            return Err(DataFusionError::Execution(
                "argument list must have even number of elements".into(),
            ));
        }
        let rows = args.first().map_or(1, |a| a.len());
        let texts = args
            .iter()
            .map(|a| datafusion::arrow::compute::cast(a, &DataType::Utf8))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut out = StringBuilder::new();
        for row in 0..rows {
            let mut object = serde_json::Map::new();
            for pair in 0..args.len() / 2 {
                let (key, value) = (&texts[2 * pair], &args[2 * pair + 1]);
                let key = key.as_string::<i32>();
                if key.is_null(row) {
                    return Err(DataFusionError::Execution(
                        "null value not allowed for object key".into(),
                    ));
                }
                let text = texts[2 * pair + 1].as_string::<i32>();
                let json = if value.is_null(row) {
                    serde_json::Value::Null
                } else if value.data_type().is_numeric() || *value.data_type() == DataType::Boolean
                {
                    serde_json::from_str(text.value(row))
                        .unwrap_or_else(|_| serde_json::Value::String(text.value(row).into()))
                } else {
                    serde_json::Value::String(text.value(row).into())
                };
                object.insert(key.value(row).to_string(), json);
            }
            out.append_value(serde_json::Value::Object(object).to_string());
        }
        Ok(Arc::new(out.finish()))
    })
}

/// `pg_advisory_unlock_all()`: Grizzly has no advisory locks, so none is held (asyncpg's
/// pool calls it when a connection is given back).
fn advisory_unlock_all() -> ScalarUDF {
    let signature = Signature::exact(vec![], Volatility::Volatile);
    function("pg_advisory_unlock_all", signature, DataType::Null, |_| {
        Ok(datafusion::arrow::array::new_null_array(&DataType::Null, 1))
    })
}

struct FunctionSignature {
    result: String,
    arguments: String,
}

/// Every pg_proc function's result and argument types, as `format_type` names them.
struct Signatures {
    functions: HashMap<i32, FunctionSignature>,
    /// Type OIDs by pg_type name and by the name format_type gives.
    type_oids: HashMap<String, i32>,
}

impl Signatures {
    fn read(tables: &PgCatalogStaticTables) -> Signatures {
        let mut type_names = HashMap::new();
        let mut type_oids = HashMap::new();
        for batch in tables.pg_type.data() {
            let (Some(oids), Some(names)) =
                (int_column(batch, "oid"), text_column(batch, "typname"))
            else {
                continue;
            };
            for row in 0..batch.num_rows() {
                let sql_name = sql_type_name(names.value(row));
                type_oids.insert(names.value(row).to_string(), oids.value(row));
                type_oids.insert(sql_name.clone(), oids.value(row));
                type_names.insert(oids.value(row), sql_name);
            }
        }
        let type_name = |oid: &str| {
            oid.parse::<i32>()
                .ok()
                .and_then(|oid| type_names.get(&oid).cloned())
                .unwrap_or_else(|| oid.to_string())
        };
        let mut functions = HashMap::new();
        for batch in tables.pg_proc.data() {
            let columns = (
                int_column(batch, "oid"),
                int_column(batch, "prorettype"),
                text_column(batch, "proargtypes"),
                batch.column_by_name("proretset").map(|c| c.as_boolean()),
            );
            let (Some(oids), Some(results), Some(arguments), Some(sets)) = columns else {
                continue;
            };
            for row in 0..batch.num_rows() {
                let result = type_name(&results.value(row).to_string());
                let result = match sets.value(row) {
                    true => format!("SETOF {result}"),
                    false => result,
                };
                let arguments = match arguments.is_null(row) {
                    true => String::new(),
                    false => arguments
                        .value(row)
                        .split_whitespace()
                        .map(type_name)
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                functions.insert(oids.value(row), FunctionSignature { result, arguments });
            }
        }
        Signatures {
            functions,
            type_oids,
        }
    }
}

fn int_column<'a>(
    batch: &'a datafusion::arrow::array::RecordBatch,
    name: &str,
) -> Option<&'a Int32Array> {
    batch.column_by_name(name)?.as_primitive_opt::<Int32Type>()
}

fn text_column<'a>(
    batch: &'a datafusion::arrow::array::RecordBatch,
    name: &str,
) -> Option<&'a StringArray> {
    batch.column_by_name(name)?.as_string_opt::<i32>()
}

/// The name `format_type` gives a built-in type.
fn sql_type_name(typname: &str) -> String {
    match typname {
        "int2" => "smallint",
        "int4" => "integer",
        "int8" => "bigint",
        "float4" => "real",
        "float8" => "double precision",
        "bool" => "boolean",
        "varchar" => "character varying",
        "bpchar" => "character",
        "timestamp" => "timestamp without time zone",
        "timestamptz" => "timestamp with time zone",
        "time" => "time without time zone",
        "timetz" => "time with time zone",
        other => {
            return other
                .strip_prefix('_')
                .map_or(other.to_string(), |e| format!("{}[]", sql_type_name(e)))
        }
    }
    .to_string()
}

/// A scalar function from a closure over its arguments as arrays.
fn function(
    name: &'static str,
    signature: Signature,
    returns: DataType,
    body: impl Fn(&[ArrayRef]) -> Result<ArrayRef> + Send + Sync + 'static,
) -> ScalarUDF {
    ScalarUDF::new_from_impl(CatalogFunction {
        name,
        signature,
        returns,
        body: Box::new(body),
    })
}

type Body = Box<dyn Fn(&[ArrayRef]) -> Result<ArrayRef> + Send + Sync>;

struct CatalogFunction {
    name: &'static str,
    signature: Signature,
    returns: DataType,
    body: Body,
}

impl std::fmt::Debug for CatalogFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Two functions are the same if they have the same name: there is one of each.
impl PartialEq for CatalogFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for CatalogFunction {}

impl std::hash::Hash for CatalogFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state)
    }
}

impl ScalarUDFImpl for CatalogFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(self.returns.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        Ok(ColumnarValue::Array((self.body)(&arrays)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_substitutes_text_identifiers_and_literals() {
        let values = [Some("public"), Some("My Table"), None, Some("it's")];
        // One %s more than there are arguments.
        assert!(format_one("%s.%I: %L, %L %s", 4, |i| values[i]).is_err());
        let text = format_one("%s.%I: %L, %L %%", 4, |i| values[i]).unwrap();
        assert_eq!(text, "public.\"My Table\": NULL, 'it''s' %");
        assert_eq!(quote_identifier("bi_orders"), "bi_orders");
    }

    #[test]
    fn sizes_print_as_postgresql_prints_them() {
        for (bytes, text) in [
            (0, "0 bytes"),
            (10239, "10239 bytes"),
            (10240, "10 kB"),
            (1_000_000, "977 kB"),
            (10_485_760, "10 MB"),
            (123_456_789_012, "115 GB"),
            (-20_000, "-20 kB"),
        ] {
            assert_eq!(pretty_size(bytes), text);
        }
    }

    #[test]
    fn signatures_name_types_as_format_type_does() {
        let tables = PgCatalogStaticTables::try_new().unwrap();
        let signatures = Signatures::read(&tables);
        // upper(text) is OID 871; generate_series(int4, int4) is 1067.
        let upper = &signatures.functions[&871];
        assert_eq!(
            (upper.result.as_str(), upper.arguments.as_str()),
            ("text", "text")
        );
        assert_eq!(signatures.type_oids["integer"], 23);
        assert_eq!(signatures.type_oids["int4"], 23);
        assert!(!signatures.type_oids.contains_key("hstore"));
        let series = &signatures.functions[&1067];
        assert_eq!(series.result, "SETOF integer");
        assert_eq!(series.arguments, "integer, integer");
    }
}
