//! Arrow ↔ PostgreSQL types: which OID a result column is described with, and how each
//! Arrow value is encoded in a DataRow, in text or binary format.
//!
//! Types without a PostgreSQL counterpart here (lists, structs, intervals, ...) are sent
//! as `text`, formatted by Arrow, so every query DataFusion can run has an answer.
//!
//! Rows are encoded a batch at a time into one buffer, each value written straight into
//! it by `format.rs`, and the DataRows are split off that buffer: a batch of thousands
//! of rows costs a few allocations, and all per-column decisions (Arrow downcast, text
//! or binary, which formatter) are made once per batch rather than per value.

use std::error::Error as StdError;
use std::fmt::Write as _;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BinaryViewArray, BooleanArray, Date32Array,
    Decimal128Array, Float16Array, Float32Array, Float64Array, Int16Array, Int32Array, Int64Array,
    Int8Array, LargeBinaryArray, LargeStringArray, RecordBatch, StringArray, StringViewArray,
    Time64MicrosecondArray, TimestampMicrosecondArray, UInt16Array, UInt32Array, UInt64Array,
    UInt8Array,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::util::display::{ArrayFormatter, FormatOptions as ArrowFormatOptions};
use bytes::{BufMut, BytesMut};
use pgwire::api::portal::Format;
use pgwire::api::results::{FieldFormat, FieldInfo};
use pgwire::api::Type;
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;

use super::format::{
    is_time_of_day, put_bytea_hex, put_date, put_date_binary, put_float, put_int, put_numeric,
    put_numeric_binary, put_time, put_timestamp, put_timestamp_binary,
};
use crate::catalog::column::{ATTNUM_METADATA, PG_TYPE_METADATA, TABLE_OID_METADATA};
use crate::catalog::pg_catalog::{numeric_typmod, varchar_typmod};

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
        DataType::List(item) | DataType::LargeList(item) => array_type(&pg_type(item.data_type())),
        _ => Type::TEXT,
    }
}

/// The array type of an element type (text[] for anything without its own).
fn array_type(element: &Type) -> Type {
    match *element {
        Type::BOOL => Type::BOOL_ARRAY,
        Type::INT2 => Type::INT2_ARRAY,
        Type::INT4 => Type::INT4_ARRAY,
        Type::INT8 => Type::INT8_ARRAY,
        Type::FLOAT4 => Type::FLOAT4_ARRAY,
        Type::FLOAT8 => Type::FLOAT8_ARRAY,
        Type::NUMERIC => Type::NUMERIC_ARRAY,
        Type::BYTEA => Type::BYTEA_ARRAY,
        Type::DATE => Type::DATE_ARRAY,
        Type::TIMESTAMP => Type::TIMESTAMP_ARRAY,
        Type::TIMESTAMPTZ => Type::TIMESTAMPTZ_ARRAY,
        Type::TIME => Type::TIME_ARRAY,
        _ => Type::TEXT_ARRAY,
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
            let pg_type = field_pg_type(field);
            let size = type_size(&pg_type);
            // The table and column it is taken from (`sql::sources`).
            let source = |key| field.metadata().get(key).and_then(|v| v.parse().ok());
            FieldInfo::new(
                field.name().clone(),
                source(TABLE_OID_METADATA),
                source(ATTNUM_METADATA).and_then(|attnum: i32| i16::try_from(attnum).ok()),
                pg_type,
                format.format_for(i),
            )
            .with_type_size(size)
            .with_type_modifier(type_modifier(field))
        })
        .collect()
}

/// `pg_type.typlen`: the byte width of a fixed-width type, -1 for the others.
fn type_size(pg_type: &Type) -> i16 {
    match *pg_type {
        Type::BOOL => 1,
        Type::INT2 => 2,
        Type::INT4 | Type::FLOAT4 | Type::DATE => 4,
        Type::INT8 | Type::FLOAT8 | Type::TIMESTAMP | Type::TIMESTAMPTZ | Type::TIME => 8,
        _ => -1,
    }
}

/// `atttypmod`: a numeric's precision and scale, a varchar's length (each plus the 4
/// bytes of header PostgreSQL counts), -1 for none.
fn type_modifier(field: &Field) -> i32 {
    if let DataType::Decimal128(precision, scale) = field.data_type() {
        // numeric(38, 10) is how Grizzly holds a bare `numeric`: no modifier.
        if (*precision, *scale) == (38, 10) {
            return -1;
        }
        return numeric_typmod(*precision, *scale);
    }
    let declared = field.metadata().get(PG_TYPE_METADATA);
    let length = declared
        .and_then(|name| name.strip_prefix("character varying("))
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|n| n.parse::<u32>().ok());
    length.map_or(-1, varchar_typmod)
}

/// Encodes every row of `batch` as a DataRow, each column in the format `fields` gives
/// it. Each row is split off the front of one shared buffer (sized from a guess at the
/// row width; should it run out, the next rows go to a fresh one).
pub fn encode_batch(
    batch: &RecordBatch,
    fields: &Arc<Vec<FieldInfo>>,
) -> PgWireResult<Vec<DataRow>> {
    let columns: Vec<Column> = batch
        .columns()
        .iter()
        .zip(fields.iter())
        .map(|(array, field)| Column::new(array, field.format() == FieldFormat::Binary))
        .collect::<PgWireResult<_>>()?;
    let num_rows = batch.num_rows();
    let row_width: usize = columns.iter().map(|c| 4 + c.values.width_hint()).sum();
    let mut buffer = BytesMut::with_capacity(num_rows * row_width);
    let field_count = columns.len() as i16;
    let mut rows = Vec::with_capacity(num_rows);
    for row in 0..num_rows {
        for column in &columns {
            column.encode(row, &mut buffer)?;
        }
        rows.push(DataRow::new(buffer.split(), field_count));
    }
    Ok(rows)
}

/// One result column, downcast once per batch, and whether it is sent in binary.
pub(super) struct Column<'a> {
    values: Values<'a>,
    nulls: Option<NullBuffer>,
    binary: bool,
}

/// A column's values, by the Arrow type they are read as.
enum Values<'a> {
    Bool(&'a BooleanArray),
    I8(&'a Int8Array),
    I16(&'a Int16Array),
    I32(&'a Int32Array),
    I64(&'a Int64Array),
    U8(&'a UInt8Array),
    U16(&'a UInt16Array),
    U32(&'a UInt32Array),
    U64(&'a UInt64Array),
    F16(&'a Float16Array),
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
    /// Cast to microseconds; whether the type has a time zone.
    Timestamp(TimestampMicrosecondArray, bool),
    /// Cast to microseconds since midnight.
    Time(Time64MicrosecondArray),
    /// A one-dimensional array: each row's element range, the elements as a column,
    /// and the element type's OID (for the binary form).
    List {
        offsets: Vec<(usize, usize)>,
        elements: Box<Column<'a>>,
        element_oid: u32,
    },
    /// Anything else, formatted as text by Arrow.
    Text(ArrayFormatter<'a>),
}

impl<'a> Column<'a> {
    pub(super) fn new(array: &'a ArrayRef, binary: bool) -> PgWireResult<Column<'a>> {
        let values = match array.data_type() {
            DataType::Boolean => Values::Bool(array.as_boolean()),
            DataType::Int8 => Values::I8(array.as_primitive()),
            DataType::Int16 => Values::I16(array.as_primitive()),
            DataType::Int32 => Values::I32(array.as_primitive()),
            DataType::Int64 => Values::I64(array.as_primitive()),
            DataType::UInt8 => Values::U8(array.as_primitive()),
            DataType::UInt16 => Values::U16(array.as_primitive()),
            DataType::UInt32 => Values::U32(array.as_primitive()),
            DataType::UInt64 => Values::U64(array.as_primitive()),
            DataType::Float16 => Values::F16(array.as_primitive()),
            DataType::Float32 => Values::F32(array.as_primitive()),
            DataType::Float64 => Values::F64(array.as_primitive()),
            DataType::Decimal128(_, scale) => Values::Decimal(array.as_primitive(), *scale),
            DataType::Utf8 => Values::Utf8(array.as_string()),
            DataType::LargeUtf8 => Values::LargeUtf8(array.as_string()),
            DataType::Utf8View => Values::Utf8View(array.as_string_view()),
            DataType::Binary => Values::Binary(array.as_binary()),
            DataType::LargeBinary => Values::LargeBinary(array.as_binary()),
            DataType::BinaryView => Values::BinaryView(array.as_binary_view()),
            DataType::Date32 => Values::Date(array.as_primitive()),
            DataType::Timestamp(_, tz) => {
                let micros = cast(
                    array,
                    DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
                )?;
                Values::Timestamp(micros.as_primitive().clone(), tz.is_some())
            }
            DataType::Time64(_) | DataType::Time32(_) => {
                let micros = cast(array, DataType::Time64(TimeUnit::Microsecond))?;
                Values::Time(micros.as_primitive().clone())
            }
            DataType::List(item) if !matches!(item.data_type(), DataType::List(_)) => {
                let list = array.as_list::<i32>();
                let offsets = list
                    .offsets()
                    .windows(2)
                    .map(|w| (w[0] as usize, w[1] as usize))
                    .collect();
                Values::List {
                    offsets,
                    elements: Box::new(Column::new(list.values(), binary)?),
                    element_oid: pg_type(item.data_type()).oid(),
                }
            }
            _ => {
                let options = ArrowFormatOptions::default();
                Values::Text(ArrayFormatter::try_new(array.as_ref(), &options).map_err(api_error)?)
            }
        };
        Ok(Column {
            values,
            nulls: array.logical_nulls(),
            binary,
        })
    }

    /// Appends one value: its length (-1 for NULL), then its bytes.
    pub(super) fn encode(&self, row: usize, out: &mut BytesMut) -> PgWireResult<()> {
        if self.is_null(row) {
            out.put_i32(-1);
            return Ok(());
        }
        let start = out.len();
        out.put_i32(0);
        if self.binary {
            self.values.put_binary(row, out)?;
        } else {
            self.values.put_text(row, out)?;
        }
        let length = (out.len() - start - 4) as i32;
        out[start..start + 4].copy_from_slice(&length.to_be_bytes());
        Ok(())
    }

    /// Appends the text form of the value at `row` (not NULL).
    pub(super) fn put_text(&self, row: usize, out: &mut BytesMut) -> PgWireResult<()> {
        self.values.put_text(row, out)
    }

    /// NULL, or a time of day outside 00:00 to 24:00, which `time` cannot hold and is
    /// sent as NULL.
    pub(super) fn is_null(&self, row: usize) -> bool {
        self.nulls.as_ref().is_some_and(|nulls| nulls.is_null(row))
            || matches!(&self.values, Values::Time(a) if !is_time_of_day(a.value(row)))
    }
}

impl Values<'_> {
    /// A guess at a value's encoded size, to size a batch's buffer.
    fn width_hint(&self) -> usize {
        match self {
            Values::Bool(_) | Values::I8(_) | Values::U8(_) | Values::I16(_) => 2,
            Values::Date(_) => 10,
            Values::Timestamp(..) => 26,
            Values::Utf8(a) => a.value_data().len() / a.len().max(1),
            Values::LargeUtf8(a) => a.value_data().len() / a.len().max(1),
            _ => 8,
        }
    }

    /// PostgreSQL's text output of the value at `row` (not NULL).
    fn put_text(&self, row: usize, out: &mut BytesMut) -> PgWireResult<()> {
        match self {
            Values::Bool(a) => out.put_u8(if a.value(row) { b't' } else { b'f' }),
            Values::I8(a) => put_int(out, a.value(row)),
            Values::I16(a) => put_int(out, a.value(row)),
            Values::I32(a) => put_int(out, a.value(row)),
            Values::I64(a) => put_int(out, a.value(row)),
            Values::U8(a) => put_int(out, a.value(row)),
            Values::U16(a) => put_int(out, a.value(row)),
            Values::U32(a) => put_int(out, a.value(row)),
            Values::U64(a) => put_int(out, clamp_u64(a.value(row))),
            Values::F16(a) => put_float(out, a.value(row).to_f32(), 6),
            Values::F32(a) => put_float(out, a.value(row), 6),
            Values::F64(a) => put_float(out, a.value(row), 15),
            Values::Decimal(a, scale) => put_numeric(out, a.value(row), *scale),
            Values::Binary(a) => put_bytea_hex(out, a.value(row)),
            Values::LargeBinary(a) => put_bytea_hex(out, a.value(row)),
            Values::BinaryView(a) => put_bytea_hex(out, a.value(row)),
            Values::Date(a) => put_date(out, a.value(row)),
            Values::Timestamp(a, has_tz) => put_timestamp(out, a.value(row), *has_tz),
            Values::Time(a) => put_time(out, a.value(row)),
            Values::Text(formatter) => {
                write!(out, "{}", formatter.value(row)).map_err(api_error)?
            }
            Values::Utf8(_) | Values::LargeUtf8(_) | Values::Utf8View(_) => {
                return self.put_binary(row, out)
            }
            Values::List {
                offsets, elements, ..
            } => put_array_text(out, offsets[row], elements)?,
        }
        Ok(())
    }

    /// PostgreSQL's binary form of the value at `row` (not NULL), as the column's
    /// described type (`pg_type`): narrow integers widen to int2/int4/int8.
    fn put_binary(&self, row: usize, out: &mut BytesMut) -> PgWireResult<()> {
        match self {
            Values::Bool(a) => out.put_u8(u8::from(a.value(row))),
            Values::I8(a) => out.put_i16(i16::from(a.value(row))),
            Values::I16(a) => out.put_i16(a.value(row)),
            Values::I32(a) => out.put_i32(a.value(row)),
            Values::I64(a) => out.put_i64(a.value(row)),
            Values::U8(a) => out.put_i16(i16::from(a.value(row))),
            Values::U16(a) => out.put_i32(i32::from(a.value(row))),
            Values::U32(a) => out.put_i64(i64::from(a.value(row))),
            Values::U64(a) => out.put_i64(clamp_u64(a.value(row))),
            Values::F16(a) => out.put_f32(a.value(row).to_f32()),
            Values::F32(a) => out.put_f32(a.value(row)),
            Values::F64(a) => out.put_f64(a.value(row)),
            Values::Decimal(a, scale) => put_numeric_binary(out, a.value(row), *scale),
            Values::Utf8(a) => out.put_slice(a.value(row).as_bytes()),
            Values::LargeUtf8(a) => out.put_slice(a.value(row).as_bytes()),
            Values::Utf8View(a) => out.put_slice(a.value(row).as_bytes()),
            Values::Binary(a) => out.put_slice(a.value(row)),
            Values::LargeBinary(a) => out.put_slice(a.value(row)),
            Values::BinaryView(a) => out.put_slice(a.value(row)),
            Values::Date(a) => put_date_binary(out, a.value(row)),
            Values::Timestamp(a, _) => put_timestamp_binary(out, a.value(row)),
            Values::Time(a) => out.put_i64(a.value(row)),
            // Described as text, whose binary form is its UTF-8 bytes.
            Values::Text(formatter) => {
                write!(out, "{}", formatter.value(row)).map_err(api_error)?
            }
            Values::List {
                offsets,
                elements,
                element_oid,
            } => {
                // array_send: dimensions, has-nulls flag, element type, then each
                // dimension's length and lower bound, then the elements.
                let (start, end) = offsets[row];
                let has_nulls = (start..end).any(|i| elements.is_null(i));
                out.put_i32(i32::from(end > start));
                out.put_i32(i32::from(has_nulls));
                out.put_u32(*element_oid);
                if end > start {
                    out.put_i32((end - start) as i32);
                    out.put_i32(1);
                }
                for i in start..end {
                    elements.encode(i, out)?;
                }
            }
        }
        Ok(())
    }
}

/// An array as PostgreSQL's text output writes it: `{1,2}`, `{a,"b c",NULL}`; an
/// element is quoted when empty, `NULL`, or holding a brace, comma, quote, backslash or
/// whitespace, and quotes and backslashes in it are escaped.
fn put_array_text(
    out: &mut BytesMut,
    (start, end): (usize, usize),
    elements: &Column,
) -> PgWireResult<()> {
    out.put_u8(b'{');
    let mut text = BytesMut::new();
    for i in start..end {
        if i > start {
            out.put_u8(b',');
        }
        if elements.is_null(i) {
            out.put_slice(b"NULL");
            continue;
        }
        text.clear();
        elements.put_text(i, &mut text)?;
        let quote = text.is_empty()
            || text.eq_ignore_ascii_case(b"null")
            || text
                .iter()
                .any(|b| matches!(b, b'{' | b'}' | b',' | b'"' | b'\\') || b.is_ascii_whitespace());
        if !quote {
            out.put_slice(&text);
            continue;
        }
        out.put_u8(b'"');
        for &b in text.iter() {
            if b == b'"' || b == b'\\' {
                out.put_u8(b'\\');
            }
            out.put_u8(b);
        }
        out.put_u8(b'"');
    }
    out.put_u8(b'}');
    Ok(())
}

/// uint8 values above int8's range are sent as its maximum.
fn clamp_u64(value: u64) -> i64 {
    value.min(i64::MAX as u64) as i64
}

fn cast(array: &ArrayRef, to: DataType) -> PgWireResult<ArrayRef> {
    arrow::compute::cast(array, &to).map_err(api_error)
}

fn api_error(err: impl StdError + Send + Sync + 'static) -> PgWireError {
    PgWireError::ApiError(Box::new(err))
}
