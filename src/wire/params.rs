//! Decoding Bind parameters into DataFusion values.
//!
//! Each parameter's type is the one DataFusion inferred from the statement (where the
//! statement gives none, `sql::parameters` casts it to the type the client gave in
//! Parse), else text. Text-format values are parsed by the target
//! type as PostgreSQL would parse a literal; binary values are decoded by their wire type
//! (psycopg 3 sends ints and floats in binary, asyncpg sends everything in binary) and
//! then cast to the type the statement needs.

use arrow::datatypes::DataType;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use datafusion::common::ScalarValue;
use pgwire::api::portal::Portal;
use pgwire::api::Type;
use postgres_types::FromSql;

use super::types::{arrow_type, pg_type};
use crate::error::{Error, Result};
use crate::sql::copy::{normalize_offset, parse_bytea};
use crate::sql::Prepared;

pub fn decode(portal: &Portal<Prepared>) -> Result<Vec<ScalarValue>> {
    let prepared = &portal.statement.statement;
    let mut values = Vec::with_capacity(portal.parameter_len());
    for (index, bytes) in portal.parameters.iter().enumerate() {
        let client_type = portal
            .statement
            .parameter_types
            .get(index)
            .cloned()
            .flatten()
            .filter(|t| *t != Type::UNKNOWN);
        let inferred = prepared
            .param_fields
            .get(index)
            .cloned()
            .flatten()
            .map(|f| f.data_type().clone())
            .filter(|t| !t.is_null());
        let target = inferred
            .or_else(|| client_type.as_ref().and_then(arrow_type))
            .unwrap_or(DataType::Utf8);
        let value = match bytes {
            None => ScalarValue::try_from(&target)?,
            Some(bytes) if portal.parameter_format.is_binary(index) => {
                let wire_type = client_type.unwrap_or_else(|| pg_type(&target));
                let value = decode_binary(&wire_type, bytes).map_err(|e| {
                    Error::InvalidValue(format!(
                        "invalid binary value for parameter ${}: {e}",
                        index + 1
                    ))
                })?;
                cast(value, &target, index)?
            }
            Some(bytes) => {
                let text = std::str::from_utf8(bytes).map_err(|_| {
                    Error::InvalidValue(format!(
                        "invalid byte sequence for encoding \"UTF8\" in parameter ${}",
                        index + 1
                    ))
                })?;
                decode_text(text, &target, index)?
            }
        };
        values.push(value);
    }
    Ok(values)
}

/// The SQL name of a parameter type Parse may name, for the types parameters decode to
/// (`None` for unknown and for types Grizzly leaves to the context).
pub fn sql_type_name(parse_type: &Type) -> Option<&'static str> {
    Some(match *parse_type {
        Type::BOOL => "bool",
        Type::INT2 => "int2",
        Type::INT4 => "int4",
        Type::INT8 => "int8",
        Type::FLOAT4 => "float4",
        Type::FLOAT8 => "float8",
        Type::NUMERIC => "numeric",
        Type::TEXT => "text",
        Type::VARCHAR => "varchar",
        Type::BYTEA => "bytea",
        Type::DATE => "date",
        Type::TIME => "time",
        Type::TIMESTAMP => "timestamp",
        Type::TIMESTAMPTZ => "timestamptz",
        _ => return None,
    })
}

fn decode_text(text: &str, target: &DataType, index: usize) -> Result<ScalarValue> {
    match target {
        DataType::Binary => parse_bytea(text)
            .map(|b| ScalarValue::Binary(Some(b)))
            .map_err(Error::InvalidValue),
        DataType::Timestamp(_, Some(_)) => cast(
            ScalarValue::Utf8(Some(normalize_offset(text))),
            target,
            index,
        ),
        // PostgreSQL's date input ignores a time or zone after the date (pgjdbc's
        // setDate sends `2024-03-01 +00`).
        DataType::Date32 => {
            let date = match text.trim().split_once(' ') {
                Some((day, rest)) if !rest.trim().eq_ignore_ascii_case("BC") => day,
                _ => text,
            };
            cast(ScalarValue::Utf8(Some(date.to_string())), target, index)
        }
        _ => cast(ScalarValue::Utf8(Some(text.to_string())), target, index),
    }
}

fn cast(value: ScalarValue, target: &DataType, index: usize) -> Result<ScalarValue> {
    if value.data_type() == *target {
        return Ok(value);
    }
    let shown = value.to_string();
    value.cast_to(target).map_err(|_| {
        Error::InvalidValue(format!(
            "invalid input syntax for type {} in parameter ${}: \"{shown}\"",
            pg_type(target).name(),
            index + 1
        ))
    })
}

type DecodeResult = std::result::Result<ScalarValue, Box<dyn std::error::Error + Sync + Send>>;

fn decode_binary(wire_type: &Type, bytes: &[u8]) -> DecodeResult {
    let micros = |t: NaiveDateTime| t.and_utc().timestamp_micros();
    Ok(match *wire_type {
        Type::BOOL => ScalarValue::Boolean(Some(bool::from_sql(wire_type, bytes)?)),
        Type::INT2 => ScalarValue::Int16(Some(i16::from_sql(wire_type, bytes)?)),
        Type::INT4 => ScalarValue::Int32(Some(i32::from_sql(wire_type, bytes)?)),
        Type::INT8 => ScalarValue::Int64(Some(i64::from_sql(wire_type, bytes)?)),
        Type::FLOAT4 => ScalarValue::Float32(Some(f32::from_sql(wire_type, bytes)?)),
        Type::FLOAT8 => ScalarValue::Float64(Some(f64::from_sql(wire_type, bytes)?)),
        Type::NUMERIC => {
            let decimal = rust_decimal::Decimal::from_sql(wire_type, bytes)?;
            ScalarValue::Decimal128(Some(decimal.mantissa()), 38, decimal.scale() as i8)
        }
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
            ScalarValue::Utf8(Some(String::from_sql(wire_type, bytes)?))
        }
        Type::BYTEA => ScalarValue::Binary(Some(Vec::<u8>::from_sql(wire_type, bytes)?)),
        Type::DATE => {
            let date = NaiveDate::from_sql(wire_type, bytes)?;
            ScalarValue::Date32(Some((date - NaiveDate::default()).num_days() as i32))
        }
        Type::TIMESTAMP => ScalarValue::TimestampMicrosecond(
            Some(micros(NaiveDateTime::from_sql(wire_type, bytes)?)),
            None,
        ),
        Type::TIMESTAMPTZ => {
            let value = DateTime::<Utc>::from_sql(wire_type, bytes)?;
            ScalarValue::TimestampMicrosecond(Some(value.timestamp_micros()), Some("+00:00".into()))
        }
        ref other => {
            return Err(format!(
                "parameters of type {} are not supported in binary format",
                other.name()
            )
            .into())
        }
    })
}
