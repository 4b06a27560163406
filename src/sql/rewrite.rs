//! Plan rewrites that make DataFusion read values the way PostgreSQL does.
//!
//! - bytea input: PostgreSQL reads text into bytea by its escape syntax (`'\x0102'` is
//!   two bytes); Arrow's Utf8→Binary cast takes the text's bytes as they are. Every such
//!   cast in a plan becomes a call to `grizzly_bytea_in`, which parses the syntax.
//! - a string literal compared with a boolean or a numeric is read as that type, as
//!   PostgreSQL reads an untyped literal (`indisprimary = 'f'`, `9.5 < '10'`); DataFusion
//!   has no boolean = text comparison and would cast `'10'` to the other side's
//!   numeric(2,1), which cannot hold it.
//! - `sum(bigint)` and `avg` of an integer are numeric, as in PostgreSQL (DataFusion:
//!   bigint and double precision): their argument is cast to numeric(38,0), and the
//!   schemas above are rebuilt for the new type.
//! - `LIKE … ESCAPE`: DataFusion runs LIKE with backslash as the only escape character
//!   (PostgreSQL's default); a constant pattern with another one (SQLAlchemy's
//!   `NOT LIKE 'pg/_%' ESCAPE '/'`) is respelled with backslashes.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, AsArray, BinaryBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::logical_expr::expr::Like;
use datafusion::logical_expr::{
    create_udf, Cast, ColumnarValue, Expr, ExprSchemable, LogicalPlan, Operator, ScalarUDF,
    Volatility,
};

use crate::error::Error;
use crate::sql::copy::parse_bytea;

static BYTEA_IN: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
    Arc::new(create_udf(
        "grizzly_bytea_in",
        vec![DataType::Utf8],
        DataType::Binary,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let array = args[0].to_array(1)?;
            let strings = datafusion::arrow::compute::cast(&array, &DataType::Utf8)?;
            let strings = strings.as_string::<i32>();
            let mut builder = BinaryBuilder::new();
            for value in strings.iter() {
                match value {
                    None => builder.append_null(),
                    Some(text) => {
                        builder.append_value(parse_bytea(text).map_err(Error::InvalidValue)?)
                    }
                }
            }
            let result = builder.finish();
            Ok(match &args[0] {
                ColumnarValue::Scalar(_) => {
                    ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?)
                }
                ColumnarValue::Array(_) => ColumnarValue::Array(Arc::new(result) as Arc<dyn Array>),
            })
        }),
    ))
});

pub fn apply(plan: LogicalPlan) -> Result<LogicalPlan> {
    let mut retyped = false;
    let plan = plan
        .transform_up_with_subqueries(|node| {
            let mut schema = DFSchema::empty();
            for input in node.inputs() {
                schema.merge(input.schema());
            }
            node.map_expressions(|expr| {
                expr.transform_up(|e| match e {
                    Expr::Cast(Cast { expr, field })
                        if field.data_type() == &DataType::Binary && is_text(&expr, &schema) =>
                    {
                        Ok(Transformed::yes(BYTEA_IN.call(vec![*expr])))
                    }
                    Expr::Like(like) if other_escape(&like) => Ok(respell_like_escape(like)),
                    Expr::BinaryExpr(mut comparison) if is_comparison(comparison.op) => {
                        let left = comparison.left.get_type(&schema).ok();
                        let right = comparison.right.get_type(&schema).ok();
                        let typed_right = type_string_literal(&mut comparison.right, left.as_ref());
                        let typed_left = type_string_literal(&mut comparison.left, right.as_ref());
                        let expr = Expr::BinaryExpr(comparison);
                        Ok(if typed_left || typed_right {
                            Transformed::yes(expr)
                        } else {
                            Transformed::no(expr)
                        })
                    }
                    Expr::AggregateFunction(mut f) => {
                        let cast = integers_as_numeric(f.func.name(), &mut f.params.args, &schema);
                        retyped |= cast;
                        Ok(Transformed::new_transformed(
                            Expr::AggregateFunction(f),
                            cast,
                        ))
                    }
                    Expr::WindowFunction(mut f) => {
                        let cast = integers_as_numeric(f.fun.name(), &mut f.params.args, &schema);
                        retyped |= cast;
                        Ok(Transformed::new_transformed(Expr::WindowFunction(f), cast))
                    }
                    other => Ok(Transformed::no(other)),
                })
            })
        })?
        .data;
    if !retyped {
        return Ok(plan);
    }
    // The aggregates' result types changed: every schema above them is rebuilt.
    plan.transform_up_with_subqueries(|node| node.recompute_schema().map(Transformed::yes))
        .map(|t| t.data)
}

/// Whether `function` of an argument of `data_type` returns numeric in PostgreSQL where
/// DataFusion returns an integer or a float: `sum(bigint)` and `avg` of any integer
/// (DataFusion: bigint and double precision; `sum` of a smaller integer is bigint in both).
fn numeric_in_postgres(function: &str, data_type: &DataType) -> bool {
    match function {
        "sum" => matches!(data_type, DataType::Int64 | DataType::UInt64),
        "avg" => data_type.is_integer(),
        _ => false,
    }
}

/// Casts the argument of `sum`/`avg` to numeric(38,0) where PostgreSQL's result is
/// numeric (`numeric_in_postgres`); whether it did. The cast keeps the argument's name,
/// so the aggregate's column keeps its name too.
fn integers_as_numeric(function: &str, args: &mut [Expr], schema: &DFSchema) -> bool {
    let [arg] = args else {
        return false;
    };
    match arg.get_type(schema) {
        Ok(data_type) if numeric_in_postgres(function, &data_type) => {}
        _ => return false,
    }
    let expr = std::mem::replace(arg, Expr::Literal(ScalarValue::Null, None));
    *arg = Expr::Cast(Cast::new(Box::new(expr), DataType::Decimal128(38, 0)));
    true
}

/// Whether a rewrite above is left for when parameters are bound: a LIKE whose pattern
/// with another escape character is not constant yet (`$1 || '%' ESCAPE '/'`).
pub fn waits_for_values(plan: &LogicalPlan) -> Result<bool> {
    use datafusion::common::tree_node::TreeNodeRecursion;
    let mut waits = false;
    plan.apply_with_subqueries(|node| {
        node.apply_expressions(|expr| {
            expr.apply(|e| {
                if matches!(e, Expr::Like(like) if other_escape(like)) {
                    waits = true;
                    return Ok(TreeNodeRecursion::Stop);
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    })?;
    Ok(waits)
}

fn is_text(expr: &Expr, schema: &DFSchema) -> bool {
    matches!(
        expr.get_type(schema),
        Ok(DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
    )
}

/// Whether a LIKE names an escape character other than DataFusion's (backslash).
fn other_escape(like: &Like) -> bool {
    like.escape_char.is_some_and(|c| c != '\\')
}

/// A string literal, or literals joined with `||` (SQLAlchemy's `'pg/_' || '%'`, or
/// `$1::varchar || '%'` once the parameter is bound).
fn constant_text(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Literal(
            ScalarValue::Utf8(Some(text))
            | ScalarValue::Utf8View(Some(text))
            | ScalarValue::LargeUtf8(Some(text)),
            _,
        ) => Some(text.clone()),
        Expr::Cast(Cast { expr, field }) if field.data_type().is_string() => constant_text(expr),
        Expr::BinaryExpr(concat) if concat.op == Operator::StringConcat => {
            Some(constant_text(&concat.left)? + &constant_text(&concat.right)?)
        }
        _ => None,
    }
}

/// `LIKE` with a constant pattern and an escape character other than backslash, as the
/// same `LIKE` with backslash escapes; any other is left for DataFusion to refuse.
fn respell_like_escape(mut like: Like) -> Transformed<Expr> {
    let (Some(escape), Some(pattern)) = (like.escape_char, constant_text(&like.pattern)) else {
        return Transformed::no(Expr::Like(like));
    };
    let mut respelled = String::with_capacity(pattern.len() + 4);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == escape {
            respelled.push('\\');
            if let Some(escaped) = chars.next() {
                respelled.push(escaped);
            }
        } else if c == '\\' {
            respelled.push_str("\\\\");
        } else {
            respelled.push(c);
        }
    }
    like.pattern = Box::new(Expr::Literal(ScalarValue::Utf8(Some(respelled)), None));
    like.escape_char = None;
    Transformed::yes(Expr::Like(like))
}

/// Casts `literal`, if it is a string literal, to the type it is compared with when
/// that is a boolean or a numeric (to a numeric wide enough for both); whether it did.
fn type_string_literal(literal: &mut Box<Expr>, other: Option<&DataType>) -> bool {
    let Expr::Literal(ScalarValue::Utf8(Some(text)), _) = literal.as_ref() else {
        return false;
    };
    let target = match other {
        Some(DataType::Boolean) => DataType::Boolean,
        Some(DataType::Decimal128(_, scale)) => {
            let digits = super::numbers::decimal_places(text).unwrap_or(0);
            DataType::Decimal128(38, (*scale).max(digits.min(38) as i8))
        }
        _ => return false,
    };
    let expr = std::mem::replace(literal.as_mut(), Expr::Literal(ScalarValue::Null, None));
    **literal = Expr::Cast(Cast::new(Box::new(expr), target));
    true
}

fn is_comparison(op: Operator) -> bool {
    use Operator::*;
    matches!(
        op,
        Eq | NotEq | Lt | LtEq | Gt | GtEq | IsDistinctFrom | IsNotDistinctFrom
    )
}
