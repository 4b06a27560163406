//! PostgreSQL's names for result columns.
//!
//! PostgreSQL names an unaliased select item by its column (`id`), its function
//! (`count`), its cast's type (`int4`) or `?column?`, and allows two items to share a
//! name; drivers returning rows as dictionaries expose these names. DataFusion instead
//! names items by their text (`count(*)`) and refuses duplicates. So before planning,
//! each unaliased item of the outermost SELECT that is not a lone column, and each
//! column selected twice, gets a unique internal alias; the PostgreSQL names are
//! computed from the SQL and put back on the output schema by position.

use std::sync::Arc;

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    self, Expr, Ident, SelectItem, SetExpr, Statement, VisitMut, VisitorMut,
};

const INTERNAL_PREFIX: &str = "__grizzly_column_";

/// Rewrites `statement`'s outermost SELECT list (and an INSERT's source query) and
/// returns the PostgreSQL name of each aliased item by its internal alias.
pub fn alias_select_items(statement: &mut Statement) -> Vec<(String, String)> {
    let query = match statement {
        Statement::Query(query) => query.as_mut(),
        Statement::Insert(insert) => match insert.source.as_mut() {
            Some(source) => source.as_mut(),
            None => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    let mut body = query.body.as_mut();
    // The first SELECT of a set operation names the columns.
    while let SetExpr::SetOperation { left, .. } = body {
        body = left.as_mut();
    }
    let SetExpr::Select(select) = body else {
        return Vec::new();
    };
    let mut counts = std::collections::HashMap::new();
    for item in &select.projection {
        if let SelectItem::UnnamedExpr(expr) = item {
            *counts.entry(pg_name(expr)).or_insert(0) += 1;
        }
    }
    let mut names = Vec::new();
    for (index, item) in select.projection.iter_mut().enumerate() {
        if let SelectItem::ExprWithAlias { expr, .. } = item {
            int4_literals(expr);
        }
        let SelectItem::UnnamedExpr(expr) = item else {
            continue;
        };
        let name = pg_name(expr);
        int4_literals(expr);
        let lone_column = matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_));
        if lone_column && counts.get(&name) == Some(&1) {
            continue;
        }
        let alias = format!("{INTERNAL_PREFIX}{index}");
        *item = SelectItem::ExprWithAlias {
            expr: expr.clone(),
            alias: Ident::new(alias.clone()),
        };
        names.push((alias, name));
    }
    names
}

/// Casts integer literals in the rows of every VALUES list but an INSERT's own to
/// integer, as `int4_literals` does for select items: `(VALUES (1), (2)) AS v(x)` has an
/// integer column in PostgreSQL. (An INSERT's rows take the target's types instead.)
pub fn int4_values(statement: &mut Statement) {
    struct Values;
    impl VisitorMut for Values {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut ast::Query) -> ControlFlow<()> {
            if let SetExpr::Values(values) = query.body.as_mut() {
                let rows = values
                    .rows
                    .iter_mut()
                    .flat_map(|row| row.content.iter_mut());
                rows.for_each(int4_literals);
            }
            ControlFlow::Continue(())
        }
    }
    if let Statement::Insert(insert) = statement {
        match insert.source.as_deref_mut() {
            Some(query) if !matches!(query.body.as_ref(), SetExpr::Values(_)) => {
                let _ = query.visit(&mut Values);
            }
            _ => {}
        }
        return;
    }
    let _ = statement.visit(&mut Values);
}

/// PostgreSQL types an integer literal that fits in 32 bits as `integer`; DataFusion as
/// bigint. In select items (alone or in arithmetic, not as function arguments, whose
/// signatures may want literals) such literals are cast to integer so results are
/// described as int4 like PostgreSQL's.
fn int4_literals(expr: &mut Expr) {
    match expr {
        Expr::Value(value) => {
            if let ast::Value::Number(text, _) = &value.value {
                if text.parse::<i32>().is_ok() {
                    let literal = expr.clone();
                    *expr = Expr::Cast {
                        kind: ast::CastKind::DoubleColon,
                        expr: Box::new(literal),
                        data_type: ast::DataType::Integer(None),
                        array: false,
                        format: None,
                    };
                }
            }
        }
        Expr::BinaryOp { left, right, .. } => {
            int4_literals(left);
            int4_literals(right);
        }
        Expr::UnaryOp { expr, .. } | Expr::Nested(expr) => int4_literals(expr),
        _ => {}
    }
}

/// Puts the PostgreSQL names back on an output schema.
pub fn rename(schema: &Schema, names: &[(String, String)]) -> SchemaRef {
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .map(
            |field| match names.iter().find(|(alias, _)| alias == field.name()) {
                Some((_, name)) => field.as_ref().clone().with_name(name),
                None => field.as_ref().clone(),
            },
        )
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// The name PostgreSQL gives an unaliased select item.
fn pg_name(expr: &Expr) -> String {
    match expr {
        Expr::Identifier(ident) => normalize(ident),
        Expr::CompoundIdentifier(parts) => parts.last().map(normalize).unwrap_or_default(),
        Expr::Function(function) => function
            .name
            .0
            .last()
            .and_then(|part| part.as_ident())
            .map(normalize)
            .unwrap_or_else(|| "?column?".into()),
        Expr::Cast {
            expr, data_type, ..
        } => match expr.as_ref() {
            Expr::Value(_) => cast_type_name(data_type),
            inner => pg_name(inner),
        },
        Expr::Nested(inner) => pg_name(inner),
        Expr::Case { .. } => "case".into(),
        Expr::Exists { .. } => "exists".into(),
        _ => "?column?".into(),
    }
}

fn normalize(ident: &Ident) -> String {
    super::ddl::normalize_ident(ident)
}

/// PostgreSQL names `'1'::integer` after the type's internal name (`int4`).
fn cast_type_name(data_type: &ast::DataType) -> String {
    match super::ddl::column_type(data_type) {
        Ok(column_type) => crate::wire::types::pg_type(&column_type.to_arrow())
            .name()
            .to_string(),
        Err(_) => data_type.to_string().to_lowercase(),
    }
}
