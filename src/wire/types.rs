//! Arrow ↔ PostgreSQL types: which OID a result column is described with, and how each
//! Arrow value is encoded in a DataRow, in text or binary format.
//!
//! Types without a PostgreSQL counterpart here (lists, structs, intervals, ...) are sent
//! as `text`, formatted by Arrow, so every query DataFusion can run has an answer.

use std::error::Error as StdError;
use std::sync::Arc;

use arrow::array::{
    Array, AsArray, BinaryArray, BinaryViewArray, BooleanArray, Date32Array, Decimal128Array,
    Float32Array, Float64Array, Int16Array, Int32Array, Int64Array, Int8Array, LargeBinaryArray,
    LargeStringArray, RecordBatch, StringArray, StringViewArray, UInt16Array, UInt32Array,
    UInt64Array, UInt8Array,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::util::display::{ArrayFormatter, FormatOptions as ArrowFormatOptions};
use bytes::{BufMut, BytesMut};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use pgwire::api::portal::Format;
use pgwire::api::results::{DataRowEncoder, FieldInfo};
use pgwire::api::Type;
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;
use pgwire::types::format::FormatOptions;
use pgwire::types::ToSqlText;
use postgres_types::{to_sql_checked, IsNull, ToSql};

use crate::catalog::column::PG_TYPE_METADATA;

/// The PostgreSQL type a column of this Arrow type is described as.
pub fn pg_type(data_type: &DataType) -> Type {
    match data_type {
        DataType::Boolean => Type::BOOL,
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => Type::INT2,
        DataType::Int32 | DataType::UInt16 => Type::INT4,
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => Type::INT8,
        DataType::Float16 | DataType::Float32 => Type::FLOAT4,
        DataType::Float64 => Type::FLOAT8,
        DataType::Decimal128(_, _) => Type::NUMERIC,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Type::TEXT,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => Type::BYTEA,
        DataType::Date32 => Type::DATE,
        DataType::Timestamp(_, None) => Type::TIMESTAMP,
        DataType::Timestamp(_, Some(_)) => Type::TIMESTAMPTZ,
        DataType::Time64(_) | DataType::Time32(_) => Type::TIME,
        _ => Type::TEXT,
    }
}

/// The Arrow type a parameter of this PostgreSQL type decodes to, if supported.
pub fn arrow_type(pg: &Type) -> Option<DataType> {
    Some(match *pg {
        Type::BOOL => DataType::Boolean,
        Type::INT2 => DataType::Int16,
        Type::INT4 => DataType::Int32,
        Type::INT8 => DataType::Int64,
        Type::FLOAT4 => DataType::Float32,
        Type::FLOAT8 => DataType::Float64,
        Type::NUMERIC => DataType::Decimal128(38, 10),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => DataType::Utf8,
        Type::BYTEA => DataType::Binary,
        Type::DATE => DataType::Date32,
        Type::TIMESTAMP => DataType::Timestamp(TimeUnit::Microsecond, None),
        Type::TIMESTAMPTZ => DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
        _ => return None,
    })
}

pub fn field_pg_type(field: &Field) -> Type {
    match field.metadata().get(PG_TYPE_METADATA).map(String::as_str) {
        Some(name) if name.starts_with("character varying") => Type::VARCHAR,
        _ => pg_type(field.data_type()),
    }
}

/// RowDescription fields for a result schema.
pub fn row_description(schema: &Schema, format: &Format) -> Vec<FieldInfo> {
    schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, field)| {
            FieldInfo::new(
                field.name().clone(),
                None,
                None,
                field_pg_type(field),
                format.format_for(i),
            )
        })
        .collect()
}

/// Encodes every row of `batch` as a DataRow.
pub fn encode_batch(
    batch: &RecordBatch,
    fields: &Arc<Vec<FieldInfo>>,
) -> PgWireResult<Vec<DataRow>> {
    let columns: Vec<Column> = batch
        .columns()
        .iter()
        .map(Column::new)
        .collect::<PgWireResult<_>>()?;
    let mut encoder = DataRowEncoder::new(fields.clone());
    let mut rows = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        for column in &columns {
            column.encode(row, &mut encoder)?;
        }
        rows.push(encoder.take_row());
    }
    Ok(rows)
}

/// One result column, downcast once per batch.
enum Column<'a> {
    Bool(&'a BooleanArray),
    I8(&'a Int8Array),
    I16(&'a Int16Array),
    I32(&'a Int32Array),
    I64(&'a Int64Array),
    U8(&'a UInt8Array),
    U16(&'a UInt16Array),
    U32(&'a UInt32Array),
    U64(&'a UInt64Array),
    F32(&'a Float32Array),
    F64(&'a Float64Array),
    Decimal(&'a Decimal128Array, i8),
    Utf8(&'a StringArray),
    LargeUtf8(&'a LargeStringArray),
    Utf8View(&'a StringViewArray),
    Binary(&'a BinaryArray),
    LargeBinary(&'a LargeBinaryArray),
    BinaryView(&'a BinaryViewArray),
    Date(&'a Date32Array),
    /// Microseconds, with or without a time zone.
    Timestamp(Vec<Option<i64>>, bool),
    Time(Vec<Option<NaiveTime>>),
    /// Anything else, formatted as text by Arrow.
    Text(&'a dyn Array, ArrayFormatter<'a>),
}

impl<'a> Column<'a> {
    fn new(array: &'a Arc<dyn Array>) -> PgWireResult<Column<'a>> {
        Ok(match array.data_type() {
            DataType::Boolean => Column::Bool(array.as_boolean()),
            DataType::Int8 => Column::I8(array.as_primitive()),
            DataType::Int16 => Column::I16(array.as_primitive()),
            DataType::Int32 => Column::I32(array.as_primitive()),
            DataType::Int64 => Column::I64(array.as_primitive()),
            DataType::UInt8 => Column::U8(array.as_primitive()),
            DataType::UInt16 => Column::U16(array.as_primitive()),
            DataType::UInt32 => Column::U32(array.as_primitive()),
            DataType::UInt64 => Column::U64(array.as_primitive()),
            DataType::Float32 => Column::F32(array.as_primitive()),
            DataType::Float64 => Column::F64(array.as_primitive()),
            DataType::Decimal128(_, scale) => Column::Decimal(array.as_primitive(), *scale),
            DataType::Utf8 => Column::Utf8(array.as_string()),
            DataType::LargeUtf8 => Column::LargeUtf8(array.as_string()),
            DataType::Utf8View => Column::Utf8View(array.as_string_view()),
            DataType::Binary => Column::Binary(array.as_binary()),
            DataType::LargeBinary => Column::LargeBinary(array.as_binary()),
            DataType::BinaryView => Column::BinaryView(array.as_binary_view()),
            DataType::Date32 => Column::Date(array.as_primitive()),
            DataType::Timestamp(_, tz) => {
                let micros = arrow::compute::cast(
                    array,
                    &DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
                )
                .map_err(api_error)?;
                let micros = micros.as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
                Column::Timestamp(micros.iter().collect(), tz.is_some())
            }
            DataType::Time64(_) | DataType::Time32(_) => {
                let micros = arrow::compute::cast(array, &DataType::Time64(TimeUnit::Microsecond))
                    .map_err(api_error)?;
                let micros = micros.as_primitive::<arrow::datatypes::Time64MicrosecondType>();
                Column::Time(
                    micros
                        .iter()
                        .map(|v| {
                            v.and_then(|us| {
                                NaiveTime::from_num_seconds_from_midnight_opt(
                                    (us / 1_000_000) as u32,
                                    ((us % 1_000_000) * 1000) as u32,
                                )
                            })
                        })
                        .collect(),
                )
            }
            _ => {
                let options = ArrowFormatOptions::default();
                Column::Text(
                    array.as_ref(),
                    ArrayFormatter::try_new(array.as_ref(), &options).map_err(api_error)?,
                )
            }
        })
    }

    fn encode(&self, row: usize, encoder: &mut DataRowEncoder) -> PgWireResult<()> {
        fn opt<A: Array + ?Sized, T>(
            array: &A,
            row: usize,
            value: impl FnOnce() -> T,
        ) -> Option<T> {
            if array.is_null(row) {
                None
            } else {
                Some(value())
            }
        }
        match self {
            Column::Bool(a) => encoder.encode_field(&opt(*a, row, || a.value(row))),
            Column::I8(a) => encoder.encode_field(&opt(*a, row, || a.value(row) as i16)),
            Column::I16(a) => encoder.encode_field(&opt(*a, row, || a.value(row))),
            Column::I32(a) => encoder.encode_field(&opt(*a, row, || a.value(row))),
            Column::I64(a) => encoder.encode_field(&opt(*a, row, || a.value(row))),
            Column::U8(a) => encoder.encode_field(&opt(*a, row, || a.value(row) as i16)),
            Column::U16(a) => encoder.encode_field(&opt(*a, row, || a.value(row) as i32)),
            Column::U32(a) => encoder.encode_field(&opt(*a, row, || a.value(row) as i64)),
            Column::U64(a) => {
                encoder.encode_field(&opt(*a, row, || a.value(row).min(i64::MAX as u64) as i64))
            }
            Column::F32(a) => encoder.encode_field(&opt(*a, row, || Float4(a.value(row)))),
            Column::F64(a) => encoder.encode_field(&opt(*a, row, || Float8(a.value(row)))),
            Column::Decimal(a, scale) => encoder.encode_field(&opt(*a, row, || Numeric {
                value: a.value(row),
                scale: *scale,
            })),
            Column::Utf8(a) => encoder.encode_field(&opt(*a, row, || a.value(row))),
            Column::LargeUtf8(a) => encoder.encode_field(&opt(*a, row, || a.value(row))),
            Column::Utf8View(a) => encoder.encode_field(&opt(*a, row, || a.value(row))),
            Column::Binary(a) => encoder.encode_field(&opt(*a, row, || a.value(row))),
            Column::LargeBinary(a) => encoder.encode_field(&opt(*a, row, || a.value(row))),
            Column::BinaryView(a) => encoder.encode_field(&opt(*a, row, || a.value(row))),
            Column::Date(a) => encoder.encode_field(&opt(*a, row, || {
                NaiveDate::from_num_days_from_ce_opt(a.value(row) + 719_163).unwrap_or_default()
            })),
            Column::Timestamp(values, has_tz) => {
                encoder.encode_field(&values[row].map(|micros| Timestamp {
                    micros,
                    has_tz: *has_tz,
                }))
            }
            Column::Time(values) => encoder.encode_field(&values[row]),
            Column::Text(array, formatter) => {
                let value = opt(*array, row, || formatter.value(row).to_string());
                encoder.encode_field(&value)
            }
        }
    }
}

fn api_error(err: impl StdError + Send + Sync + 'static) -> PgWireError {
    PgWireError::ApiError(Box::new(err))
}

/// float4 and float8 as PostgreSQL prints them (extra_float_digits = 1): the shortest
/// text that reads back exactly, in exponent form (`1e+20`, `1e-07`) when the decimal
/// exponent is below -4 or at least the type's precision (15 or 6 digits).
macro_rules! pg_float {
    ($name:ident, $float:ty, $pg_type:expr, $precision:expr) => {
        #[derive(Debug, Clone, Copy)]
        pub struct $name(pub $float);

        impl ToSqlText for $name {
            fn to_sql_text(
                &self,
                _ty: &Type,
                out: &mut BytesMut,
                _options: &FormatOptions,
            ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
                let value = self.0;
                if value.is_nan() {
                    out.put_slice(b"NaN");
                } else if value.is_infinite() {
                    out.put_slice(if value > 0.0 {
                        b"Infinity"
                    } else {
                        b"-Infinity"
                    });
                } else {
                    let scientific = format!("{value:e}");
                    let (mantissa, exponent) =
                        scientific.split_once('e').unwrap_or((&scientific, "0"));
                    let exponent: i32 = exponent.parse().unwrap_or(0);
                    if value != 0.0 && !(-4..$precision).contains(&exponent) {
                        let sign = if exponent < 0 { '-' } else { '+' };
                        out.put_slice(format!("{mantissa}e{sign}{:02}", exponent.abs()).as_bytes());
                    } else {
                        out.put_slice(format!("{value}").as_bytes());
                    }
                }
                Ok(IsNull::No)
            }
        }

        impl ToSql for $name {
            fn to_sql(
                &self,
                ty: &Type,
                out: &mut BytesMut,
            ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
                self.0.to_sql(ty, out)
            }
            fn accepts(ty: &Type) -> bool {
                *ty == $pg_type
            }
            to_sql_checked!();
        }
    };
}

pg_float!(Float8, f64, Type::FLOAT8, 15);
pg_float!(Float4, f32, Type::FLOAT4, 6);

/// A timestamp as PostgreSQL prints it with DateStyle ISO: fractional seconds only when
/// non-zero, and `+00` for timestamptz (sessions are in UTC).
#[derive(Debug, Clone, Copy)]
pub struct Timestamp {
    pub micros: i64,
    pub has_tz: bool,
}

impl Timestamp {
    fn utc(&self) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp_micros(self.micros).unwrap_or_default()
    }
}

impl ToSqlText for Timestamp {
    fn to_sql_text(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
        _options: &FormatOptions,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        use std::fmt::Write;
        let time = self.utc();
        write!(out, "{}", time.format("%Y-%m-%d %H:%M:%S"))?;
        let fraction = self.micros.rem_euclid(1_000_000);
        if fraction != 0 {
            let digits = format!("{fraction:06}");
            write!(out, ".{}", digits.trim_end_matches('0'))?;
        }
        if self.has_tz {
            out.put_slice(b"+00");
        }
        Ok(IsNull::No)
    }
}

impl ToSql for Timestamp {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        if self.has_tz {
            self.utc().to_sql(ty, out)
        } else {
            self.utc().naive_utc().to_sql(ty, out)
        }
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMP || *ty == Type::TIMESTAMPTZ
    }

    to_sql_checked!();
}

/// A numeric value: an unscaled integer and its scale, as Arrow's Decimal128 stores it.
#[derive(Debug, Clone, Copy)]
pub struct Numeric {
    pub value: i128,
    pub scale: i8,
}

impl Numeric {
    /// Decimal digits of the integer and fractional parts (fraction exactly `scale` long).
    fn digits(&self) -> (String, String) {
        let digits = self.value.unsigned_abs().to_string();
        let scale = self.scale.max(0) as usize;
        if scale == 0 {
            return (digits, String::new());
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        (int.to_string(), frac.to_string())
    }
}

impl std::fmt::Display for Numeric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (int, frac) = self.digits();
        let sign = if self.value < 0 { "-" } else { "" };
        if frac.is_empty() {
            write!(f, "{sign}{int}")
        } else {
            write!(f, "{sign}{int}.{frac}")
        }
    }
}

impl ToSqlText for Numeric {
    fn to_sql_text(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
        _options: &FormatOptions,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        out.put_slice(self.to_string().as_bytes());
        Ok(IsNull::No)
    }
}

impl ToSql for Numeric {
    /// PostgreSQL's binary numeric: digit count, weight, sign, display scale (each i16),
    /// then base-10000 digits, most significant first.
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        let (int, frac) = self.digits();
        let int = int.trim_start_matches('0');
        let int_groups = int.len().div_ceil(4);
        let int = format!("{int:0>width$}", width = int_groups * 4);
        let frac_groups = frac.len().div_ceil(4);
        let frac = format!("{frac:0<width$}", width = frac_groups * 4);
        let mut groups: Vec<i16> = int
            .as_bytes()
            .chunks(4)
            .chain(frac.as_bytes().chunks(4))
            .map(|c| {
                std::str::from_utf8(c)
                    .unwrap_or("0")
                    .parse::<i16>()
                    .unwrap_or(0)
            })
            .collect();
        let mut weight = int_groups as i16 - 1;
        while groups.first() == Some(&0) {
            groups.remove(0);
            weight -= 1;
        }
        while groups.last() == Some(&0) {
            groups.pop();
        }
        if groups.is_empty() {
            weight = 0;
        }
        out.put_i16(groups.len() as i16);
        out.put_i16(weight);
        out.put_u16(if self.value < 0 { 0x4000 } else { 0 });
        out.put_u16(self.scale.max(0) as u16);
        for group in groups {
            out.put_i16(group);
        }
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text<T: ToSqlText>(value: T) -> String {
        let mut out = BytesMut::new();
        value
            .to_sql_text(&Type::FLOAT8, &mut out, &FormatOptions::default())
            .unwrap();
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn floats_print_like_postgres() {
        assert_eq!(text(Float8(1.0)), "1");
        assert_eq!(text(Float8(1.5)), "1.5");
        assert_eq!(text(Float8(1e20)), "1e+20");
        assert_eq!(text(Float8(1e-7)), "1e-07");
        assert_eq!(text(Float8(0.0001)), "0.0001");
        assert_eq!(text(Float8(f64::INFINITY)), "Infinity");
        assert_eq!(text(Float4(123456789.0)), "1.2345679e+08");
        assert_eq!(text(Float4(0.1)), "0.1");
    }

    #[test]
    fn numeric_text() {
        assert_eq!(
            Numeric {
                value: 12345,
                scale: 2
            }
            .to_string(),
            "123.45"
        );
        assert_eq!(
            Numeric {
                value: -5,
                scale: 3
            }
            .to_string(),
            "-0.005"
        );
        assert_eq!(Numeric { value: 7, scale: 0 }.to_string(), "7");
    }

    #[test]
    fn numeric_binary_round_trips_through_postgres_types() {
        let mut out = BytesMut::new();
        Numeric {
            value: -1234567,
            scale: 2,
        }
        .to_sql(&Type::NUMERIC, &mut out)
        .unwrap();
        let decoded =
            <rust_decimal::Decimal as postgres_types::FromSql>::from_sql(&Type::NUMERIC, &out)
                .unwrap();
        assert_eq!(decoded.to_string(), "-12345.67");
    }
}
