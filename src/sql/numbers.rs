//! Number literals with an exponent are written out in digits before planning, and
//! casts to a bare `numeric` keep their value's scale.
//!
//! PostgreSQL reads `1e15` as the numeric 1000000000000000. DataFusion (with
//! `parse_float_as_decimal`) reads it as a decimal of negative scale, which Arrow converts
//! to float by dividing by an inexact power of ten: `1e15` stored in a double precision
//! column became 999999999999999.9. Written out, the literal is an ordinary decimal of
//! scale 0 or more, which converts exactly.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, DataType, ExactNumberInfo, Expr, Statement, Value,
};

/// More digits than a 256-bit decimal holds: such literals are left as they are.
const MAX_DIGITS: usize = 76;

/// Rewrites every number literal with an exponent in `statement` to plain digits.
pub fn expand_exponents(statement: &mut Statement) {
    let _ = visit_expressions_mut(statement, |expr| {
        if let Expr::Value(value) = expr {
            if let Value::Number(text, _) = &mut value.value {
                if let Some(plain) = without_exponent(text) {
                    *text = plain;
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
}

/// Casts to a bare `numeric` (`x::numeric`) as `grizzly_numeric(x)`, which keeps the
/// scale of what it casts (`sql/functions.rs`): PostgreSQL's numeric has no fixed scale,
/// so `'1.50'::numeric` is 1.50 and `5::numeric` is 5, where DataFusion's bare decimal is
/// numeric(38,10). A parameter is left cast, so its type is still inferred from the cast.
pub fn bare_numeric_casts(statement: &mut Statement) {
    let _ = visit_expressions_mut(statement, |expr| {
        if let Expr::Cast {
            data_type:
                DataType::Numeric(ExactNumberInfo::None)
                | DataType::Decimal(ExactNumberInfo::None)
                | DataType::Dec(ExactNumberInfo::None),
            expr: inner,
            format: None,
            ..
        } = expr
        {
            if super::time_travel::placeholder(inner).is_none() {
                let inner = std::mem::replace(inner.as_mut(), Expr::value(Value::Null));
                *expr = super::client_queries::call("grizzly_numeric", vec![inner]);
            }
        }
        ControlFlow::<()>::Continue(())
    });
}

/// How many digits follow the point in a literal's text (`'1.50'` has 2; no point, 0);
/// `None` if what follows the point is not all digits.
pub fn decimal_places(text: &str) -> Option<usize> {
    match text.trim().split_once('.') {
        Some((_, fraction)) => fraction
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then_some(fraction.len()),
        None => Some(0),
    }
}

/// `1.5e-3` as `0.0015`; None if `text` has no exponent or would need too many digits.
fn without_exponent(text: &str) -> Option<String> {
    let (mantissa, exponent) = text.split_once(['e', 'E'])?;
    let exponent: i64 = exponent.parse().ok()?;
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Position of the decimal point within `digits` once the exponent is applied.
    let point = whole.len() as i64 + exponent;
    let length = digits.len() as i64;
    if point.abs() > MAX_DIGITS as i64 || length > MAX_DIGITS as i64 {
        return None;
    }
    let plain = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point >= length {
        format!("{digits}{}", "0".repeat((point - length) as usize))
    } else {
        let (int, frac) = digits.split_at(point as usize);
        format!("{int}.{frac}")
    };
    let plain = match plain.trim_start_matches('0') {
        "" => "0".to_string(),
        rest if rest.starts_with('.') => format!("0{rest}"),
        rest => rest.to_string(),
    };
    (plain.len() <= MAX_DIGITS + 2).then_some(plain)
}

#[cfg(test)]
mod tests {
    use super::without_exponent;

    #[test]
    fn exponents_are_written_out() {
        for (text, plain) in [
            ("1e15", "1000000000000000"),
            ("1.5e-3", "0.0015"),
            ("2E+2", "200"),
            ("3.25e1", "32.5"),
            ("0.5e1", "5"),
            ("1e0", "1"),
            ("12e-1", "1.2"),
            ("0e5", "0"),
            (".5e2", "50"),
            ("1e-1", "0.1"),
        ] {
            assert_eq!(without_exponent(text).as_deref(), Some(plain), "{text}");
        }
        assert_eq!(without_exponent("123"), None);
        assert_eq!(without_exponent("1e300"), None, "beyond a 256-bit decimal");
    }
}
