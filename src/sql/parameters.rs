//! Parameter types as PostgreSQL resolves them, applied to the statement before
//! DataFusion plans it.
//!
//! A parameter takes its type from the context, which DataFusion infers (`a = $1` gives
//! `$1` the type of `a`). Where the context gives none:
//! - a type named in Parse is the parameter's type: `SELECT $1` becomes `SELECT $1::int4`
//!   and is described so (psycopg 3 names the type of every non-string value and expects
//!   the same type back);
//! - two parameters on either side of an operator, as in `$1 || $2`, have no context
//!   but each other: each takes its Parse type, an unknown one the other's, and two
//!   unknowns are text, as PostgreSQL resolves `unknown || unknown`.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{Expr, Statement, VisitMut, VisitorMut};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

/// Types both operands of an operator between two parameters: each as Parse names it
/// (by position, `None` for unknown; a SQL type name such as `int4`), else as the other,
/// else text.
pub fn type_operator_pairs(statement: &mut Statement, types: &[Option<&str>]) {
    let _ = statement.visit(&mut OperatorPairs { types });
}

/// Casts the parameters at `indexes` ($1 is 0) to the types Parse names for them.
pub fn cast_to_parse_types(statement: &mut Statement, types: &[Option<&str>], indexes: &[usize]) {
    let _ = statement.visit(&mut ParseTypes { types, indexes });
}

struct OperatorPairs<'a> {
    types: &'a [Option<&'a str>],
}

impl VisitorMut for OperatorPairs<'_> {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Expr::BinaryOp { left, right, .. } = expr {
            if let (Some(l), Some(r)) = (placeholder_index(left), placeholder_index(right)) {
                let parse_type = |i: usize| self.types.get(i).copied().flatten();
                let (l, r) = (parse_type(l), parse_type(r));
                // An unknown operand takes the other's type, as PostgreSQL resolves it.
                cast(left, l.or(r).unwrap_or("text"));
                cast(right, r.or(l).unwrap_or("text"));
            }
        }
        ControlFlow::Continue(())
    }
}

struct ParseTypes<'a> {
    types: &'a [Option<&'a str>],
    indexes: &'a [usize],
}

impl VisitorMut for ParseTypes<'_> {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        let index = placeholder_index(expr).filter(|i| self.indexes.contains(i));
        if let Some(Some(type_name)) = index.map(|i| self.types.get(i).copied().flatten()) {
            cast(expr, type_name);
        }
        ControlFlow::Continue(())
    }
}

/// `$n` as an index (n - 1); `None` for any other expression.
fn placeholder_index(expr: &Expr) -> Option<usize> {
    super::time_travel::placeholder(expr).flatten()
}

/// Wraps `expr` (a placeholder) in a cast to `type_name`, spelled as a user would.
fn cast(expr: &mut Expr, type_name: &str) {
    let Ok(mut parser) =
        Parser::new(&PostgreSqlDialect {}).try_with_sql(&format!("{expr}::{type_name}"))
    else {
        return;
    };
    if let Ok(typed) = parser.parse_expr() {
        *expr = typed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> Statement {
        crate::sql::dialect::parse(sql).unwrap().remove(0)
    }

    #[test]
    fn parse_types_become_casts_where_asked() {
        let mut statement = parse("SELECT $1, $2 FROM t WHERE a = $3");
        let types = [Some("int4"), Some("timestamptz"), Some("int8")];
        cast_to_parse_types(&mut statement, &types, &[0, 1]);
        assert_eq!(
            statement.to_string(),
            "SELECT $1::INT4, $2::TIMESTAMPTZ FROM t WHERE a = $3"
        );
    }

    #[test]
    fn operands_of_two_parameters_are_typed() {
        let typed = |sql: &str, types: &[Option<&str>]| {
            let mut statement = parse(sql);
            type_operator_pairs(&mut statement, types);
            statement.to_string()
        };
        assert_eq!(typed("SELECT $1 || $2", &[]), "SELECT $1::TEXT || $2::TEXT");
        assert_eq!(
            typed("SELECT $1 + $2", &[Some("int2"), None]),
            "SELECT $1::INT2 + $2::INT2"
        );
        assert_eq!(typed("SELECT a || $1 FROM t", &[]), "SELECT a || $1 FROM t");
    }
}
