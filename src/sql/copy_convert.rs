//! Turning COPY's string columns into typed columns.
//!
//! Integers and numerics, the bulk of analytic data, are parsed here directly from the
//! text, without Arrow's generic cast: one pass, no allocation per value, and PostgreSQL's
//! rules (surrounding spaces allowed, numerics rounded half away from zero to the
//! column's scale, out-of-range values rejected with 22003 rather than wrapped). Other
//! types go through Arrow's cast. Either way a bad value fails the COPY with an error
//! naming the value, the column and the input line.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BinaryBuilder, PrimitiveArray, StringArray};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{
    ArrowPrimitiveType, Date32Type, Decimal128Type, Int16Type, Int32Type, Int64Type,
};
use chrono::{Datelike, NaiveDate};

use super::copy::{normalize_offset, parse_bytea};
use crate::catalog::{ColumnDef, ColumnType};
use crate::error::{Error, Result};

/// Where the values came from, for error messages.
pub struct Origin<'a> {
    pub table: &'a str,
    pub column: &'a ColumnDef,
    /// The input line of each row.
    pub lines: &'a [u64],
}

impl Origin<'_> {
    fn at(&self, row: usize) -> String {
        format!(
            "COPY {}, line {}, column {}",
            self.table, self.lines[row], self.column.name
        )
    }

    fn syntax_error(&self, row: usize, value: &str) -> Error {
        Error::InvalidValue(format!(
            "invalid input syntax for type {}: \"{value}\" ({})",
            self.column.column_type.sql_name(),
            self.at(row)
        ))
    }
}

/// Converts one column of text fields (NULL where the input had the null string) to the
/// column's type.
pub fn convert_column(strings: StringArray, origin: &Origin) -> Result<ArrayRef> {
    match origin.column.column_type {
        ColumnType::Text | ColumnType::Varchar { .. } => Ok(Arc::new(strings)),
        ColumnType::SmallInt => integers::<Int16Type>(&strings, origin),
        ColumnType::Integer => integers::<Int32Type>(&strings, origin),
        ColumnType::BigInt => integers::<Int64Type>(&strings, origin),
        ColumnType::Numeric { precision, scale } if scale >= 0 => {
            numerics(&strings, precision, scale, origin)
        }
        ColumnType::Date => dates(&strings, origin),
        ColumnType::Bytea => {
            let mut builder = BinaryBuilder::new();
            for (row, field) in strings.iter().enumerate() {
                match field {
                    None => builder.append_null(),
                    Some(text) => builder.append_value(parse_bytea(text).map_err(|msg| {
                        Error::InvalidValue(format!("{msg} ({})", origin.at(row)))
                    })?),
                }
            }
            Ok(Arc::new(builder.finish()))
        }
        ColumnType::TimestampTz => {
            let normalized: StringArray = strings.iter().map(|v| v.map(normalize_offset)).collect();
            cast(&normalized, origin)
        }
        _ => cast(&strings, origin),
    }
}

/// `NaiveDate::num_days_from_ce` of 1970-01-01, Arrow's day zero.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

enum Invalid {
    Syntax,
    OutOfRange,
}

fn integers<T>(strings: &StringArray, origin: &Origin) -> Result<ArrayRef>
where
    T: ArrowPrimitiveType,
    T::Native: TryFrom<i64>,
{
    let mut values = Vec::with_capacity(strings.len());
    for (row, field) in strings.iter().enumerate() {
        let Some(text) = field else {
            values.push(T::Native::default());
            continue;
        };
        let value = parse_integer(text)
            .and_then(|v| T::Native::try_from(v).map_err(|_| Invalid::OutOfRange));
        match value {
            Ok(value) => values.push(value),
            Err(Invalid::Syntax) => return Err(origin.syntax_error(row, text)),
            Err(Invalid::OutOfRange) => {
                return Err(Error::OutOfRange(format!(
                    "value \"{text}\" is out of range for type {} ({})",
                    origin.column.column_type.sql_name(),
                    origin.at(row)
                )))
            }
        }
    }
    let array = PrimitiveArray::<T>::new(values.into(), strings.nulls().cloned());
    Ok(Arc::new(array))
}

fn numerics(strings: &StringArray, precision: u8, scale: i8, origin: &Origin) -> Result<ArrayRef> {
    let mut values = Vec::with_capacity(strings.len());
    for (row, field) in strings.iter().enumerate() {
        let Some(text) = field else {
            values.push(0);
            continue;
        };
        match parse_numeric(text, precision, scale as u8) {
            Ok(value) => values.push(value),
            Err(Invalid::OutOfRange) => {
                return Err(Error::OutOfRange(format!(
                    "numeric field overflow: a field with precision {precision}, scale {scale} \
                     must round to an absolute value less than 10^{} ({})",
                    precision as i16 - scale as i16,
                    origin.at(row)
                )))
            }
            // Exponents and other spellings: let Arrow's parser decide.
            Err(Invalid::Syntax) => values.push(cast_one::<Decimal128Type>(text, row, origin)?),
        }
    }
    let array = PrimitiveArray::<Decimal128Type>::new(values.into(), strings.nulls().cloned())
        .with_precision_and_scale(precision, scale)?;
    Ok(Arc::new(array))
}

fn dates(strings: &StringArray, origin: &Origin) -> Result<ArrayRef> {
    let mut values = Vec::with_capacity(strings.len());
    for (row, field) in strings.iter().enumerate() {
        values.push(match field {
            None => 0,
            Some(text) => match parse_iso_date(text) {
                Some(days) => days,
                None => cast_one::<Date32Type>(text, row, origin)?,
            },
        });
    }
    Ok(Arc::new(PrimitiveArray::<Date32Type>::new(
        values.into(),
        strings.nulls().cloned(),
    )))
}

/// `YYYY-MM-DD` as days since 1970-01-01; None for any other spelling.
fn parse_iso_date(text: &str) -> Option<i32> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |digits: &[u8]| {
        digits.iter().try_fold(0u32, |value, d| {
            d.is_ascii_digit().then(|| value * 10 + (d - b'0') as u32)
        })
    };
    let (year, month, day) = (
        number(&bytes[..4])?,
        number(&bytes[5..7])?,
        number(&bytes[8..])?,
    );
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    Some(date.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE)
}

/// An integer as PostgreSQL reads one: optional spaces, an optional sign, digits.
fn parse_integer(text: &str) -> std::result::Result<i64, Invalid> {
    let (negative, digits) = split_sign(text.trim_ascii().as_bytes());
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(Invalid::Syntax);
    }
    let mut value: i64 = 0;
    for &digit in digits {
        let digit = (digit - b'0') as i64;
        // Accumulate negatives downwards so i64::MIN parses.
        value = value
            .checked_mul(10)
            .and_then(|v| {
                if negative {
                    v.checked_sub(digit)
                } else {
                    v.checked_add(digit)
                }
            })
            .ok_or(Invalid::OutOfRange)?;
    }
    Ok(value)
}

/// A decimal (`-12.345`, `1.5e3`) as an integer scaled by `10^scale`, rounded half away
/// from zero. NaN and the like are `Syntax`, for the caller to handle.
fn parse_numeric(text: &str, precision: u8, scale: u8) -> std::result::Result<i128, Invalid> {
    let (negative, rest) = split_sign(text.trim_ascii().as_bytes());
    let value = match rest.iter().position(|b| *b == b'e' || *b == b'E') {
        None => parse_plain_numeric(rest, precision, scale)?,
        Some(e) => {
            parse_plain_numeric(&shift_point(&rest[..e], &rest[e + 1..])?, precision, scale)?
        }
    };
    Ok(if negative { -value } else { value })
}

/// Rewrites `mantissa` times ten to the `exponent` without the exponent: `2.5`, `1`
/// becomes `25.`. PostgreSQL limits exponents to ±1000, and so does this.
fn shift_point(mantissa: &[u8], exponent: &[u8]) -> std::result::Result<Vec<u8>, Invalid> {
    let exponent: i64 = std::str::from_utf8(exponent)
        .ok()
        .and_then(|e| e.parse().ok())
        .filter(|e: &i64| e.abs() <= 1000)
        .ok_or(Invalid::Syntax)?;
    let (integer, fraction) = match memchr::memchr(b'.', mantissa) {
        Some(dot) => (&mantissa[..dot], &mantissa[dot + 1..]),
        None => (mantissa, &[][..]),
    };
    let digits = [integer, fraction].concat();
    let point = integer.len() as i64 + exponent;
    let mut shifted = Vec::with_capacity(digits.len() + exponent.unsigned_abs() as usize + 2);
    if point <= 0 {
        shifted.extend_from_slice(b"0.");
        shifted.resize(shifted.len() + point.unsigned_abs() as usize, b'0');
        shifted.extend_from_slice(&digits);
    } else if point as usize >= digits.len() {
        shifted.extend_from_slice(&digits);
        shifted.resize(point as usize, b'0');
    } else {
        shifted.extend_from_slice(&digits[..point as usize]);
        shifted.push(b'.');
        shifted.extend_from_slice(&digits[point as usize..]);
    }
    Ok(shifted)
}

/// Unsigned digits with an optional point, scaled and rounded.
fn parse_plain_numeric(
    rest: &[u8],
    precision: u8,
    scale: u8,
) -> std::result::Result<i128, Invalid> {
    let (integer, fraction) = match memchr::memchr(b'.', rest) {
        Some(dot) => (&rest[..dot], &rest[dot + 1..]),
        None => (rest, &[][..]),
    };
    if (integer.is_empty() && fraction.is_empty())
        || !integer.iter().all(u8::is_ascii_digit)
        || !fraction.iter().all(u8::is_ascii_digit)
    {
        return Err(Invalid::Syntax);
    }
    let first_significant = integer.iter().position(|d| *d != b'0');
    let integer = first_significant.map_or(&[][..], |p| &integer[p..]);
    if integer.len() > (precision - scale) as usize {
        return Err(Invalid::OutOfRange);
    }
    let mut value: i128 = 0;
    for &digit in integer {
        value = value * 10 + (digit - b'0') as i128;
    }
    for k in 0..scale as usize {
        value = value * 10 + fraction.get(k).map_or(0, |d| (d - b'0') as i128);
    }
    if fraction.get(scale as usize).is_some_and(|d| *d >= b'5') {
        value += 1;
    }
    if value >= 10i128.pow(precision as u32) {
        return Err(Invalid::OutOfRange); // rounding carried into one digit too many
    }
    Ok(value)
}

fn split_sign(bytes: &[u8]) -> (bool, &[u8]) {
    match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        Some(b'+') => (false, &bytes[1..]),
        _ => (false, bytes),
    }
}

/// One value through Arrow's cast, for spellings the fast parsers leave alone.
fn cast_one<T: ArrowPrimitiveType>(text: &str, row: usize, origin: &Origin) -> Result<T::Native> {
    let one = StringArray::from(vec![text]);
    let array = cast(
        &one,
        &Origin {
            lines: &origin.lines[row..],
            ..*origin
        },
    )?;
    Ok(array.as_primitive::<T>().value(0))
}

/// Arrow's cast; on failure, finds the first value that does not convert to name it.
fn cast(strings: &StringArray, origin: &Origin) -> Result<ArrayRef> {
    let target = origin.column.column_type.to_arrow();
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    if let Ok(array) = cast_with_options(strings, &target, &options) {
        return Ok(array);
    }
    for row in 0..strings.len() {
        if strings.is_valid(row)
            && cast_with_options(&strings.slice(row, 1), &target, &options).is_err()
        {
            return Err(origin.syntax_error(row, strings.value(row)));
        }
    }
    Err(Error::InvalidValue(format!(
        "invalid value in column \"{}\"",
        origin.column.name
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(text: &str) -> Option<i128> {
        parse_numeric(text, 5, 2).ok()
    }

    #[test]
    fn numerics_round_half_away_from_zero_and_check_precision() {
        assert_eq!(numeric("1.005"), Some(101));
        assert_eq!(numeric("-1.005"), Some(-101));
        assert_eq!(numeric(" 12.3 "), Some(1230));
        assert_eq!(numeric(".5"), Some(50));
        assert_eq!(numeric("007"), Some(700));
        assert_eq!(numeric("999.99"), Some(99999));
        assert!(matches!(
            parse_numeric("999.995", 5, 2),
            Err(Invalid::OutOfRange)
        ));
        assert!(matches!(
            parse_numeric("1000", 5, 2),
            Err(Invalid::OutOfRange)
        ));
        assert_eq!(numeric("2.5e1"), Some(2500));
        assert_eq!(numeric("-15E-3"), Some(-2));
        assert_eq!(numeric("1e-9"), Some(0));
        assert!(matches!(
            parse_numeric("1e3", 5, 2),
            Err(Invalid::OutOfRange)
        ));
        assert!(matches!(parse_numeric("1e", 5, 2), Err(Invalid::Syntax)));
        assert!(matches!(parse_numeric("NaN", 5, 2), Err(Invalid::Syntax)));
        assert!(matches!(parse_numeric(".", 5, 2), Err(Invalid::Syntax)));
    }

    #[test]
    fn iso_dates_are_days_since_1970() {
        assert_eq!(parse_iso_date("1970-01-01"), Some(0));
        assert_eq!(parse_iso_date("1998-12-01"), Some(10561));
        assert_eq!(parse_iso_date("1969-12-31"), Some(-1));
        assert_eq!(parse_iso_date("1998-02-30"), None);
        assert_eq!(parse_iso_date("98-12-01"), None);
    }

    #[test]
    fn integers_accept_spaces_and_signs_and_reject_overflow() {
        assert!(matches!(parse_integer(" -42 "), Ok(-42)));
        assert!(matches!(parse_integer("+7"), Ok(7)));
        assert!(matches!(
            parse_integer("-9223372036854775808"),
            Ok(i64::MIN)
        ));
        assert!(matches!(
            parse_integer("9223372036854775808"),
            Err(Invalid::OutOfRange)
        ));
        assert!(matches!(parse_integer("1.5"), Err(Invalid::Syntax)));
        assert!(matches!(parse_integer(""), Err(Invalid::Syntax)));
    }
}
