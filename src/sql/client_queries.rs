//! Catalog queries from clients, made to run on DataFusion.
//!
//! psql, drivers and BI tools read pg_catalog and information_schema with SQL that
//! DataFusion cannot always plan as written: `OPERATOR(pg_catalog.~)`, `'t'::regclass`,
//! `= ANY(array)`, `COLLATE`, `ARRAY(subquery)`, scalar subqueries that refer to the outer
//! query, or a few whole statements (psql's row-policy and publication lookups) that have
//! no DataFusion equivalent. datafusion-pg-catalog replaces those few statements with
//! ones returning the same columns and no rows, and its rewrite rules fix the rest.
//!
//! Only statements that read the catalog are rewritten: the rules trade exactness for a
//! plan in ways acceptable for catalog browsing and not for user queries. Grizzly runs
//! the library's rules but one: where the library turns a correlated scalar subquery in a
//! select list into NULL, `scalar_subqueries` wraps its one value in `max()`, which
//! DataFusion decorrelates (a scalar subquery yields at most one row, so `max` of it is
//! that row's value); that is how psql's `\d` shows column defaults. Only what cannot be
//! wrapped and refers to the outer query still becomes NULL, and so does `ARRAY(subquery)`
//! over the outer query (elsewhere it becomes `array_agg`).

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::{Arc, LazyLock};

use datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken;
use datafusion::sql::sqlparser::ast::{
    visit_expressions, visit_expressions_mut, visit_relations, AccessExpr, BinaryOperator,
    CaseWhen, CastKind, DataType, Expr, Function, FunctionArg, FunctionArgExpr,
    FunctionArgumentList, FunctionArguments, GroupByExpr, Ident, ObjectName, ObjectNamePart, Query,
    SelectItem, SetExpr, Statement, TableFactor, Value, Visit, VisitMut, Visitor, VisitorMut,
};
use datafusion_pg_catalog::pg_catalog::PG_CATALOG_TABLES;
use datafusion_pg_catalog::sql::rules::{
    AliasDuplicatedProjectionRewrite, CurrentUserVariableToSessionUserFunctionCall,
    FixArrayLiteral, FixVersionColumnName, PrependUnqualifiedPgTableName,
    ResolveUnqualifiedIdentifier, RewriteArrayAnyAllOperation, RewritePgCatalogOperator,
    RewriteRegCastToSubquery, SqlStatementRewriteRule, StripCallableQualifier, StripCollate,
};
use datafusion_pg_catalog::sql::PostgresCompatibilityParser;

/// The library's parser: its statement replacements, then all its rules.
static LIBRARY: LazyLock<PostgresCompatibilityParser> =
    LazyLock::new(PostgresCompatibilityParser::new);

/// The library's rules in its order, with `ScalarSubqueries` where it removes
/// correlated subqueries.
static RULES: LazyLock<Vec<Arc<dyn SqlStatementRewriteRule>>> = LazyLock::new(|| {
    vec![
        Arc::new(AliasDuplicatedProjectionRewrite),
        Arc::new(ResolveUnqualifiedIdentifier),
        Arc::new(RewriteArrayAnyAllOperation),
        Arc::new(PrependUnqualifiedPgTableName),
        Arc::new(StripCallableQualifier),
        Arc::new(FixArrayLiteral),
        Arc::new(CurrentUserVariableToSessionUserFunctionCall),
        Arc::new(StripCollate),
        Arc::new(RewritePgCatalogOperator),
        Arc::new(CatalogOperators),
        Arc::new(Subscripts),
        Arc::new(QualifyCatalogRegclass),
        Arc::new(RegclassOfText),
        Arc::new(ExpandArray),
        Arc::new(RewriteRegCastToSubquery::new()),
        Arc::new(ScalarSubqueries),
        Arc::new(FixVersionColumnName),
    ]
});

/// Types whose casts turn a name into an OID (`'t'::regclass`).
const OID_ALIAS_TYPES: &[&str] = &[
    "regclass",
    "regtype",
    "regnamespace",
    "regproc",
    "regprocedure",
];

/// `statements` as parsed from `sql`, rewritten if they read the catalog.
pub fn adapt(sql: &str, mut statements: Vec<Statement>) -> Vec<Statement> {
    if !statements.iter().any(reads_catalog) {
        return statements;
    }
    // Where the library's parse differs from its rules alone, it replaced a statement
    // it knows; take that (compared as text: the two parses' spans differ). Not for
    // the search-path subquery, which the library replaces with '' (so Grafana would
    // see no tables on the path) and Grizzly answers itself. Statements that do not
    // read the catalog stay as they are, whatever else their query string holds.
    let library = match search_path_subqueries(&mut statements) {
        true => None,
        false => LIBRARY.parse(sql).ok(),
    };
    let library = library.filter(|replaced| replaced.len() == statements.len());
    let mut replaced = library.map(Vec::into_iter);
    statements
        .into_iter()
        .map(|statement| {
            let library_version = replaced.as_mut().and_then(Iterator::next);
            if !reads_catalog(&statement) {
                return statement;
            }
            if let Some(library_version) = library_version {
                let ruled = LIBRARY.rewrite(statement.clone());
                if library_version.to_string() != ruled.to_string() {
                    return library_version;
                }
            }
            RULES
                .iter()
                .fold(statement, |statement, rule| rule.rewrite(statement))
        })
        .collect()
}

/// Grafana's "schemas on the search path" subquery (`… FROM generate_series(…) AS i,
/// string_to_array(current_setting('search_path'), ',') s`): DataFusion cannot take a
/// scalar function as a FROM item. Grizzly's search path is always `"$user", public`,
/// which the subquery turns into the current user's name and `public`, so `x IN
/// (subquery)` becomes `x IN (current_user(), 'public')`. Returns whether any was.
fn search_path_subqueries(statements: &mut [Statement]) -> bool {
    let mut replaced = false;
    for statement in statements {
        let _ = visit_expressions_mut(statement, |expr| {
            if let Expr::InSubquery {
                expr: value,
                subquery,
                negated,
            } = expr
            {
                if reads_search_path(subquery) {
                    let current_user = call("current_user", vec![]);
                    let public = Expr::value(Value::SingleQuotedString("public".into()));
                    *expr = Expr::InList {
                        expr: value.clone(),
                        list: vec![current_user, public],
                        negated: *negated,
                    };
                    replaced = true;
                }
            }
            ControlFlow::<()>::Continue(())
        });
    }
    replaced
}

/// Whether a subquery reads from `string_to_array(current_setting('search_path'), …)`.
fn reads_search_path(query: &Query) -> bool {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return false;
    };
    select.from.iter().any(|from| {
        matches!(&from.relation, TableFactor::Table { name, args: Some(_), .. }
            if last_part(name).as_deref() == Some("string_to_array"))
            && from
                .relation
                .to_string()
                .to_ascii_lowercase()
                .contains("search_path")
    })
}

/// For text Grizzly's parser rejects: the library's parse, if every statement in it
/// reads the catalog and the library's statement replacements make it parse.
pub fn parse_rejected(sql: &str) -> Option<Vec<Statement>> {
    let lower = sql.to_ascii_lowercase();
    if !lower.contains("pg_") && !lower.contains("information_schema") {
        return None;
    }
    let statements = LIBRARY.parse(sql).ok()?;
    statements.iter().all(reads_catalog).then_some(statements)
}

/// Whether a statement names a pg_catalog or information_schema relation, or casts to an
/// OID alias type.
fn reads_catalog(statement: &Statement) -> bool {
    let catalog_relation = visit_relations(statement, |name| {
        if is_catalog_relation(name) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    let oid_cast = visit_expressions(statement, |expr| match expr {
        Expr::Cast {
            data_type: DataType::Regclass,
            ..
        } => ControlFlow::Break(()),
        Expr::Cast {
            data_type: DataType::Custom(name, _),
            ..
        } if is_oid_alias(name) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    });
    let catalog_function = visit_expressions(statement, |expr| match expr {
        Expr::Function(function) if function.name.0.len() == 2 => {
            let schema = function.name.0[0]
                .as_ident()
                .map(|i| i.value.to_ascii_lowercase());
            if schema.as_deref() == Some("pg_catalog") {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
        Expr::BinaryOp {
            op: BinaryOperator::PGCustomBinaryOperator(_),
            ..
        } => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    });
    catalog_relation.is_break() || oid_cast.is_break() || catalog_function.is_break()
}

fn last_part(name: &ObjectName) -> Option<String> {
    name.0
        .last()
        .and_then(ObjectNamePart::as_ident)
        .map(|i| i.value.to_ascii_lowercase())
}

fn is_catalog_relation(name: &ObjectName) -> bool {
    let parts: Vec<String> = name
        .0
        .iter()
        .filter_map(ObjectNamePart::as_ident)
        .map(|i| i.value.to_ascii_lowercase())
        .collect();
    match parts.as_slice() {
        [.., schema, _] => schema == "pg_catalog" || schema == "information_schema",
        [table] => PG_CATALOG_TABLES.contains(&table.as_str()),
        [] => false,
    }
}

fn is_oid_alias(name: &ObjectName) -> bool {
    last_part(name).is_some_and(|n| OID_ALIAS_TYPES.contains(&n.as_str()))
}

/// `a OPERATOR(pg_catalog.=) b` (psqlODBC writes every comparison so) as `a = b`; the
/// library's rule only knows the regular-expression operators.
#[derive(Debug)]
struct CatalogOperators;

impl SqlStatementRewriteRule for CatalogOperators {
    fn rewrite(&self, mut statement: Statement) -> Statement {
        let _ = visit_expressions_mut(&mut statement, |expr| {
            if let Expr::BinaryOp { op, .. } = expr {
                if let BinaryOperator::PGCustomBinaryOperator(parts) = op {
                    let plain = match parts.as_slice() {
                        [schema, op] if schema.eq_ignore_ascii_case("pg_catalog") => {
                            standard_operator(op)
                        }
                        _ => None,
                    };
                    if let Some(plain) = plain {
                        *op = plain;
                    }
                }
            }
            ControlFlow::<()>::Continue(())
        });
        statement
    }
}

fn standard_operator(op: &str) -> Option<BinaryOperator> {
    Some(match op {
        "=" => BinaryOperator::Eq,
        "<>" | "!=" => BinaryOperator::NotEq,
        "<" => BinaryOperator::Lt,
        "<=" => BinaryOperator::LtEq,
        ">" => BinaryOperator::Gt,
        ">=" => BinaryOperator::GtEq,
        "+" => BinaryOperator::Plus,
        "-" => BinaryOperator::Minus,
        "*" => BinaryOperator::Multiply,
        "/" => BinaryOperator::Divide,
        "||" => BinaryOperator::StringConcat,
        _ => return None,
    })
}

/// `generate_subscripts(a, 1)` as `unnest(range(1, array_length(a, 1) + 1))`: the same
/// subscripts, and beside `unnest(a)` in a select list DataFusion zips the two as
/// PostgreSQL runs set-returning functions side by side (SQLAlchemy's key reflection).
#[derive(Debug)]
struct Subscripts;

impl SqlStatementRewriteRule for Subscripts {
    fn rewrite(&self, mut statement: Statement) -> Statement {
        let _ = visit_expressions_mut(&mut statement, |expr| {
            let Expr::Function(function) = expr else {
                return ControlFlow::<()>::Continue(());
            };
            if last_part(&function.name).as_deref() != Some("generate_subscripts") {
                return ControlFlow::Continue(());
            }
            let FunctionArguments::List(list) = &function.args else {
                return ControlFlow::Continue(());
            };
            let [FunctionArg::Unnamed(FunctionArgExpr::Expr(array)), FunctionArg::Unnamed(FunctionArgExpr::Expr(dimension))] =
                list.args.as_slice()
            else {
                return ControlFlow::Continue(());
            };
            let text =
                format!("unnest(range(1, CAST(array_length({array}, {dimension}) AS BIGINT) + 1))");
            let parsed = datafusion::sql::sqlparser::parser::Parser::new(
                &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
            )
            .try_with_sql(&text)
            .and_then(|mut parser| parser.parse_expr());
            if let Ok(replacement) = parsed {
                *expr = replacement;
            }
            ControlFlow::Continue(())
        });
        statement
    }
}

/// `'pg_class'::regclass`: PostgreSQL finds an unqualified catalog table through the
/// search path, which starts with pg_catalog; the library's rewrite looks only in the
/// current schema, so such a name is qualified first (unless a table of the user's has
/// it).
#[derive(Debug)]
struct QualifyCatalogRegclass;

impl SqlStatementRewriteRule for QualifyCatalogRegclass {
    fn rewrite(&self, mut statement: Statement) -> Statement {
        let _ = visit_expressions_mut(&mut statement, |expr| {
            if let Expr::Cast {
                data_type: DataType::Regclass,
                expr: inner,
                ..
            } = expr
            {
                if let Expr::Value(value) = inner.as_mut() {
                    if let Value::SingleQuotedString(name) = &mut value.value {
                        if PG_CATALOG_TABLES.contains(&name.as_str()) {
                            *name = format!("pg_catalog.{name}");
                        }
                    }
                }
            }
            ControlFlow::<()>::Continue(())
        });
        statement
    }
}

/// `format('%I.%I', schema, name)::regclass` (Metabase's describe-fields): a name
/// computed per row, which the library's rewrite (for literals and parameters, as a
/// subquery) does not take, is looked up by `to_regclass`. Only expressions that are text
/// by their form are taken: `indrelid::regclass` turns an OID into a name.
#[derive(Debug)]
struct RegclassOfText;

impl SqlStatementRewriteRule for RegclassOfText {
    fn rewrite(&self, mut statement: Statement) -> Statement {
        let _ = visit_expressions_mut(&mut statement, |expr| {
            if let Expr::Cast {
                data_type,
                expr: inner,
                ..
            } = expr
            {
                let regclass = match data_type {
                    DataType::Regclass => true,
                    DataType::Custom(name, _) => last_part(name).is_some_and(|n| n == "regclass"),
                    _ => false,
                };
                if regclass && is_text_by_form(inner) {
                    let name = std::mem::replace(inner.as_mut(), Expr::value(Value::Null));
                    *expr = call("to_regclass", vec![name]);
                }
            }
            ControlFlow::<()>::Continue(())
        });
        statement
    }
}

/// pgjdbc's getPrimaryKeys: `information_schema._pg_expandarray(i.indkey)`, a
/// set-returning function in the select list, and `(keys).x`, a field of its composite
/// rows. The function is Grizzly's list of `{x, n}` structs, unnested where it is called,
/// and a field access on a parenthesized expression is `get_field`.
#[derive(Debug)]
struct ExpandArray;

impl SqlStatementRewriteRule for ExpandArray {
    fn rewrite(&self, mut statement: Statement) -> Statement {
        let _ = visit_expressions_mut(&mut statement, |expr| {
            match expr {
                Expr::Function(function)
                    if last_part(&function.name).as_deref() == Some("_pg_expandarray") =>
                {
                    function.name = ObjectName::from(vec![Ident::new("_pg_expandarray")]);
                    let expanded = std::mem::replace(expr, Expr::value(Value::Null));
                    *expr = call("unnest", vec![expanded]);
                }
                Expr::CompoundFieldAccess { root, access_chain }
                    if matches!(root.as_ref(), Expr::Nested(_)) =>
                {
                    let mut fields = Vec::new();
                    for access in access_chain.iter() {
                        match access {
                            AccessExpr::Dot(Expr::Identifier(field)) => {
                                fields.push(field.value.to_lowercase())
                            }
                            _ => return ControlFlow::<()>::Continue(()),
                        }
                    }
                    let mut accessed = std::mem::replace(root.as_mut(), Expr::value(Value::Null));
                    for field in fields {
                        let name = Expr::value(Value::SingleQuotedString(field));
                        accessed = call("get_field", vec![accessed, name]);
                    }
                    *expr = accessed;
                }
                _ => {}
            }
            ControlFlow::<()>::Continue(())
        });
        statement
    }
}

/// Whether `expr` is text whatever its operands: a string function's result, a `||`, or
/// a cast to text.
fn is_text_by_form(expr: &Expr) -> bool {
    match expr {
        Expr::Function(function) => last_part(&function.name).is_some_and(|name| {
            matches!(
                name.as_str(),
                "format" | "concat" | "concat_ws" | "quote_ident" | "lower" | "upper"
            )
        }),
        Expr::BinaryOp {
            op: BinaryOperator::StringConcat,
            ..
        } => true,
        Expr::Cast { data_type, .. } => {
            matches!(data_type, DataType::Text | DataType::Varchar(_))
        }
        Expr::Nested(inner) => is_text_by_form(inner),
        _ => false,
    }
}

/// Scalar subqueries and `ARRAY(subquery)`, wherever they are, made plannable.
#[derive(Debug)]
struct ScalarSubqueries;

impl SqlStatementRewriteRule for ScalarSubqueries {
    fn rewrite(&self, mut statement: Statement) -> Statement {
        let _ = VisitMut::visit(&mut statement, &mut SubqueryVisitor);
        statement
    }
}

struct SubqueryVisitor;

impl VisitorMut for SubqueryVisitor {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if matches!(expr, Expr::Subquery(_)) {
            scalar_subquery(expr);
            return ControlFlow::Continue(());
        }
        let Expr::Function(function) = expr else {
            return ControlFlow::Continue(());
        };
        let FunctionArguments::Subquery(sub) = &mut function.args else {
            return ControlFlow::Continue(());
        };
        if last_part(&function.name).is_none_or(|n| n != "array") {
            return ControlFlow::Continue(());
        }
        let mut sub = sub.clone();
        *expr = if !is_correlated(&sub) && aggregate_single_value(&mut sub, "array_agg") {
            Expr::Subquery(sub)
        } else {
            Expr::Cast {
                kind: CastKind::Cast,
                expr: Box::new(Expr::value(Value::Null)),
                data_type: DataType::Array(
                    datafusion::sql::sqlparser::ast::ArrayElemTypeDef::SquareBracket(
                        Box::new(DataType::Text),
                        None,
                    ),
                ),
                array: false,
                format: None,
            }
        };
        ControlFlow::Continue(())
    }
}

/// A scalar subquery made into one DataFusion can decorrelate: its
/// value aggregated, conditions on the outer row alone (psql's `a.atthasdef`) hoisted into
/// `CASE WHEN … THEN (subquery) END`, and the only other references to the outer query
/// equalities with its own columns. Anything else that refers to the outer query becomes
/// NULL.
fn scalar_subquery(expr: &mut Expr) {
    let Expr::Subquery(sub) = expr else {
        return;
    };
    let aggregated = aggregate_single_value(sub, "max");
    let names = Names::of(sub);
    if names.outer().is_empty() {
        return;
    }
    let SetExpr::Select(select) = sub.body.as_mut() else {
        *expr = Expr::value(Value::Null);
        return;
    };
    let mut inner = Vec::new();
    let mut outer = Vec::new();
    for condition in select.selection.take().map(conjuncts).unwrap_or_default() {
        let used = Names::of_expr(&condition);
        if used.iter().all(|q| !names.defined.contains(q)) && !used.is_empty() {
            outer.push(condition);
        } else if used.iter().all(|q| names.defined.contains(q))
            || is_join_equality(&condition, &names)
        {
            inner.push(condition);
        } else {
            *expr = Expr::value(Value::Null);
            return;
        }
    }
    select.selection = and_all(inner);
    if !aggregated {
        *expr = Expr::value(Value::Null);
        return;
    }
    if let Some(guard) = and_all(outer) {
        let value = std::mem::replace(expr, Expr::value(Value::Null));
        *expr = Expr::Case {
            case_token: AttachedToken::empty(),
            end_token: AttachedToken::empty(),
            operand: None,
            conditions: vec![CaseWhen {
                condition: guard,
                result: value,
            }],
            else_result: None,
        };
    }
}

/// `a AND b AND …`, None for no conditions.
fn and_all(conditions: Vec<Expr>) -> Option<Expr> {
    conditions.into_iter().reduce(|a, b| Expr::BinaryOp {
        left: Box::new(a),
        op: BinaryOperator::And,
        right: Box::new(b),
    })
}

/// A call of the function `name`.
pub(super) fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|arg| FunctionArg::Unnamed(FunctionArgExpr::Expr(arg)))
                .collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

/// The parts of `a AND b AND …`.
fn conjuncts(expr: Expr) -> Vec<Expr> {
    match expr {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let mut parts = conjuncts(*left);
            parts.extend(conjuncts(*right));
            parts
        }
        Expr::Nested(inner) => conjuncts(*inner),
        other => vec![other],
    }
}

/// `inner.column = outer.column`, either way round.
fn is_join_equality(condition: &Expr, names: &Names) -> bool {
    let Expr::BinaryOp {
        left,
        op: BinaryOperator::Eq,
        right,
    } = condition
    else {
        return false;
    };
    let side = |e: &Expr| match e {
        Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
            Some(names.defined.contains(&relation_of(parts)))
        }
        _ => None,
    };
    matches!(
        (side(left), side(right)),
        (Some(true), Some(false)) | (Some(false), Some(true))
    )
}

/// Makes a subquery select one aggregated value, wrapping the one expression it selects
/// in `aggregate` unless that is an aggregate already. Returns false if it cannot (a
/// LIMIT, GROUP BY, DISTINCT or more than one item).
fn aggregate_single_value(sub: &mut Query, aggregate: &str) -> bool {
    if sub.limit_clause.is_some() || sub.fetch.is_some() {
        return false;
    }
    let SetExpr::Select(select) = sub.body.as_mut() else {
        return false;
    };
    let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty());
    if grouped || select.having.is_some() || select.distinct.is_some() {
        return false;
    }
    let [SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. }] =
        select.projection.as_mut_slice()
    else {
        return false;
    };
    if is_aggregate(expr) {
        return true;
    }
    let inner = std::mem::replace(expr, Expr::value(Value::Null));
    *expr = call(aggregate, vec![inner]);
    true
}

/// Whether a subquery names a qualifier (`a.attnum`) that none of its own relations
/// define: a reference to the outer query.
fn is_correlated(sub: &Query) -> bool {
    !Names::of(sub).outer().is_empty()
}

/// The relation names and aliases a subquery defines, and the qualifiers it uses.
#[derive(Default)]
struct Names {
    defined: HashSet<String>,
    used: HashSet<String>,
}

impl Names {
    fn of(sub: &Query) -> Names {
        let mut names = Names::default();
        let _ = Visit::visit(sub, &mut names);
        names
    }

    /// The qualifiers an expression uses.
    fn of_expr(expr: &Expr) -> HashSet<String> {
        let mut names = Names::default();
        let _ = Visit::visit(expr, &mut names);
        names.used
    }

    /// Qualifiers used and not defined: the outer query's.
    fn outer(&self) -> Vec<&String> {
        self.used.difference(&self.defined).collect()
    }
}

impl Visitor for Names {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { name, .. } = factor {
            self.defined.extend(last_part(name));
        }
        let alias = match factor {
            TableFactor::Table { alias, .. }
            | TableFactor::Derived { alias, .. }
            | TableFactor::Function { alias, .. }
            | TableFactor::UNNEST { alias, .. } => alias.as_ref(),
            _ => None,
        };
        if let Some(alias) = alias {
            self.defined.insert(alias.name.value.to_ascii_lowercase());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let Expr::CompoundIdentifier(parts) = expr {
            if parts.len() >= 2 {
                self.used.insert(relation_of(parts));
            }
        }
        ControlFlow::Continue(())
    }
}

/// The relation a qualified column names: `a` in `a.attnum`, `pg_attribute` in
/// `pg_catalog.pg_attribute.attnum`.
fn relation_of(parts: &[Ident]) -> String {
    parts[parts.len() - 2].value.to_ascii_lowercase()
}

/// The aggregates catalog subqueries use; anything else is taken for a scalar function.
fn is_aggregate(expr: &Expr) -> bool {
    let Expr::Function(function) = expr else {
        return false;
    };
    let name = last_part(&function.name).unwrap_or_default();
    matches!(
        name.as_str(),
        "count"
            | "max"
            | "min"
            | "sum"
            | "avg"
            | "array_agg"
            | "string_agg"
            | "bool_and"
            | "bool_or"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_statements_beside_catalog_queries_are_not_rewritten() {
        let sql = "SELECT relname FROM pg_catalog.pg_class WHERE false; \
                   SELECT (SELECT b FROM t2 WHERE t2.a = t1.a) AS v FROM t1";
        let statements = super::super::dialect::parse(sql).unwrap();
        let user = statements[1].to_string();
        let adapted = adapt(sql, statements);
        assert_eq!(adapted[1].to_string(), user);
    }
}
