//! Partitioned tables: `CREATE TABLE … WITH (partition_by = 'day(ts)')`.
//!
//! A table may be divided by the hour, day or month of a timestamp (or date) column, or
//! by a hash of a column's value into N buckets. Partitions are not declared: a row's
//! partition is computed from its value when it is written (flush, bulk write,
//! compaction), and every block holds rows of one partition only, in
//! `tables/<id>/<partition>/`. Scans skip the blocks of partitions the query's filters
//! rule out before opening any file (`table/partitions.rs`).
//!
//! Partition names: `2026-01-31T13` (hour), `2026-01-31` (day), `2026-01` (month),
//! `h3` (bucket 3 of a hash), and `null` for rows whose key is NULL.

use std::collections::BTreeMap;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::TimestampMicrosecondType;
use arrow::datatypes::{DataType, Date32Type, Int16Type, Int32Type, Int64Type};
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};

use super::column::{ColumnType, TableDef};
use crate::error::{Error, Result};

/// The partition of rows whose key is NULL.
pub const NULL_PARTITION: &str = "null";
/// Most hash buckets a table may have.
const MAX_BUCKETS: u32 = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    Hour,
    Day,
    Month,
}

/// How a table's rows are divided into partitions, by column id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Partitioning {
    Time { column: u32, unit: TimeUnit },
    Hash { column: u32, buckets: u32 },
}

impl Partitioning {
    /// Parses `day(ts)`, `hour(ts)`, `month(ts)` or `hash(host, 8)` against `def`'s columns.
    pub fn parse(text: &str, def: &TableDef) -> Result<Partitioning> {
        let invalid = |why: &str| {
            Error::InvalidInput(format!(
                "invalid partition_by \"{text}\": {why}; use hour(column), day(column), \
                 month(column) or hash(column, buckets)"
            ))
        };
        let trimmed = text.trim();
        let (function, rest) = trimmed
            .split_once('(')
            .ok_or_else(|| invalid("no column given"))?;
        let arguments = rest
            .strip_suffix(')')
            .ok_or_else(|| invalid("missing \")\""))?;
        let arguments: Vec<&str> = arguments.split(',').map(str::trim).collect();
        let column_named = |name: &str| {
            def.column(&name.to_lowercase()).ok_or_else(|| {
                Error::UndefinedColumn(format!(
                    "column \"{name}\" named in partition_by does not exist"
                ))
            })
        };
        match (
            function.trim().to_lowercase().as_str(),
            arguments.as_slice(),
        ) {
            (unit @ ("hour" | "day" | "month"), [name]) => {
                let column = column_named(name)?;
                let unit = match unit {
                    "hour" => TimeUnit::Hour,
                    "day" => TimeUnit::Day,
                    _ => TimeUnit::Month,
                };
                let fits = match column.column_type {
                    ColumnType::Timestamp | ColumnType::TimestampTz => true,
                    ColumnType::Date => unit != TimeUnit::Hour,
                    _ => false,
                };
                if !fits {
                    return Err(invalid(&format!(
                        "column \"{}\" is of type {}, not a timestamp{}",
                        column.name,
                        column.column_type.sql_name(),
                        if unit == TimeUnit::Hour {
                            ""
                        } else {
                            " or date"
                        }
                    )));
                }
                Ok(Partitioning::Time {
                    column: column.id,
                    unit,
                })
            }
            ("hash", [name, buckets]) => {
                let column = column_named(name)?;
                let buckets: u32 = buckets
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_BUCKETS).contains(n))
                    .ok_or_else(|| invalid(&format!("buckets must be 1 to {MAX_BUCKETS}")))?;
                let hashable = matches!(
                    column.column_type,
                    ColumnType::SmallInt
                        | ColumnType::Integer
                        | ColumnType::BigInt
                        | ColumnType::Text
                        | ColumnType::Varchar { .. }
                        | ColumnType::Date
                );
                if !hashable {
                    return Err(invalid(&format!(
                        "hash partitions take an integer, text or date column, not {}",
                        column.column_type.sql_name()
                    )));
                }
                Ok(Partitioning::Hash {
                    column: column.id,
                    buckets,
                })
            }
            _ => Err(invalid("unknown form")),
        }
    }

    pub fn column_id(&self) -> u32 {
        match self {
            Partitioning::Time { column, .. } | Partitioning::Hash { column, .. } => *column,
        }
    }

    /// The option's text, with the column's current name.
    pub fn describe(&self, def: &TableDef) -> String {
        let name = def
            .columns
            .iter()
            .find(|c| c.id == self.column_id())
            .map_or("?", |c| c.name.as_str());
        match self {
            Partitioning::Time { unit, .. } => {
                let unit = match unit {
                    TimeUnit::Hour => "hour",
                    TimeUnit::Day => "day",
                    TimeUnit::Month => "month",
                };
                format!("{unit}({name})")
            }
            Partitioning::Hash { buckets, .. } => format!("hash({name}, {buckets})"),
        }
    }

    /// The partition of each row of `key` (the partition column's values).
    pub fn keys(&self, key: &ArrayRef) -> Result<Vec<String>> {
        let mut out = Vec::with_capacity(key.len());
        match self {
            Partitioning::Time { unit, .. } => {
                for row in 0..key.len() {
                    out.push(match time_micros(key, row)? {
                        Some(micros) => time_partition(micros, *unit),
                        None => NULL_PARTITION.to_string(),
                    });
                }
            }
            Partitioning::Hash { buckets, .. } => {
                for row in 0..key.len() {
                    out.push(match hash_value(key, row)? {
                        Some(hash) => format!("h{}", hash % *buckets as u64),
                        None => NULL_PARTITION.to_string(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// The partition column of `rows` (physical names).
    pub fn key_column<'a>(&self, rows: &'a RecordBatch) -> Result<&'a ArrayRef> {
        let name = format!("c{}", self.column_id());
        rows.column_by_name(&name)
            .ok_or_else(|| Error::Internal(format!("rows lack the partition column {name}")))
    }

    /// `rows` (physical names) split by partition, in partition order.
    pub fn split(&self, rows: &RecordBatch) -> Result<BTreeMap<String, RecordBatch>> {
        let key = self.key_column(rows)?;
        let mut indexes: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for (row, partition) in self.keys(key)?.into_iter().enumerate() {
            indexes.entry(partition).or_default().push(row as u32);
        }
        if indexes.len() == 1 {
            let (partition, _) = indexes.into_iter().next().expect("one partition");
            return Ok(BTreeMap::from([(partition, rows.clone())]));
        }
        indexes
            .into_iter()
            .map(|(partition, rows_of)| {
                let taken = take_record_batch(rows, &UInt32Array::from(rows_of))?;
                Ok((partition, taken))
            })
            .collect()
    }

    /// The range of key values a time partition holds, as microseconds since the epoch
    /// (start inclusive, end exclusive); None for hash partitions and `null`.
    pub fn time_range(&self, partition: &str) -> Option<(i64, i64)> {
        let Partitioning::Time { unit, .. } = self else {
            return None;
        };
        let start = match unit {
            TimeUnit::Hour => chrono::NaiveDateTime::parse_from_str(partition, "%Y-%m-%dT%H")
                .ok()?
                .and_utc(),
            TimeUnit::Day => NaiveDate::parse_from_str(partition, "%Y-%m-%d")
                .ok()?
                .and_hms_opt(0, 0, 0)?
                .and_utc(),
            TimeUnit::Month => NaiveDate::parse_from_str(&format!("{partition}-01"), "%Y-%m-%d")
                .ok()?
                .and_hms_opt(0, 0, 0)?
                .and_utc(),
        };
        let end = match unit {
            TimeUnit::Hour => start + chrono::Duration::hours(1),
            TimeUnit::Day => start + chrono::Duration::days(1),
            TimeUnit::Month => start.checked_add_months(chrono::Months::new(1))?,
        };
        Some((start.timestamp_micros(), end.timestamp_micros()))
    }

    /// The hash bucket a partition name stands for.
    pub fn bucket(partition: &str) -> Option<u64> {
        partition.strip_prefix('h')?.parse().ok()
    }
}

/// A timestamp (or date) value as microseconds since the epoch, UTC.
fn time_micros(key: &ArrayRef, row: usize) -> Result<Option<i64>> {
    if key.is_null(row) {
        return Ok(None);
    }
    Ok(Some(match key.data_type() {
        DataType::Timestamp(_, _) => key.as_primitive::<TimestampMicrosecondType>().value(row),
        DataType::Date32 => key.as_primitive::<Date32Type>().value(row) as i64 * 86_400_000_000,
        other => {
            return Err(Error::Internal(format!(
                "time partitions of a {other} column"
            )))
        }
    }))
}

fn time_partition(micros: i64, unit: TimeUnit) -> String {
    let time: DateTime<Utc> = Utc
        .timestamp_micros(micros)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    match unit {
        TimeUnit::Hour => format!(
            "{:04}-{:02}-{:02}T{:02}",
            time.year(),
            time.month(),
            time.day(),
            time.hour()
        ),
        TimeUnit::Day => format!("{:04}-{:02}-{:02}", time.year(), time.month(), time.day()),
        TimeUnit::Month => format!("{:04}-{:02}", time.year(), time.month()),
    }
}

/// A stable hash of one value (FNV-1a over a canonical encoding: integers as i64, text as
/// UTF-8, dates as days), so a value's bucket never changes across versions or widening.
pub fn hash_value(key: &ArrayRef, row: usize) -> Result<Option<u64>> {
    if key.is_null(row) {
        return Ok(None);
    }
    let bytes: Vec<u8> = match key.data_type() {
        DataType::Int16 => (key.as_primitive::<Int16Type>().value(row) as i64)
            .to_le_bytes()
            .into(),
        DataType::Int32 => (key.as_primitive::<Int32Type>().value(row) as i64)
            .to_le_bytes()
            .into(),
        DataType::Int64 => key
            .as_primitive::<Int64Type>()
            .value(row)
            .to_le_bytes()
            .into(),
        DataType::Date32 => (key.as_primitive::<Date32Type>().value(row) as i64)
            .to_le_bytes()
            .into(),
        DataType::Utf8 => key.as_string::<i32>().value(row).as_bytes().into(),
        DataType::Utf8View => key.as_string_view().value(row).as_bytes().into(),
        other => {
            return Err(Error::Internal(format!(
                "hash partitions of a {other} column"
            )))
        }
    };
    Ok(Some(fnv1a(&bytes)))
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= *byte as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The hash of a literal, computed as for the column's values (None for NULL).
pub fn hash_scalar(value: &datafusion::common::ScalarValue) -> Option<u64> {
    let array = value.to_array().ok()?;
    hash_value(&array, 0).ok().flatten()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use arrow::array::{Int32Array, StringArray, TimestampMicrosecondArray};

    #[test]
    fn time_partitions_name_their_range() {
        let p = Partitioning::Time {
            column: 1,
            unit: TimeUnit::Day,
        };
        let micros = 1_767_225_600_000_000 + 3_600_000_000; // 2026-01-01 01:00 UTC
        let key: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![Some(micros), None]).with_timezone("+00:00"),
        );
        assert_eq!(p.keys(&key).unwrap(), vec!["2026-01-01", "null"]);
        let (start, end) = p.time_range("2026-01-01").unwrap();
        assert!(start <= micros && micros < end);
        assert_eq!(end - start, 86_400_000_000);
        let month = Partitioning::Time {
            column: 1,
            unit: TimeUnit::Month,
        };
        let (start, end) = month.time_range("2026-02").unwrap();
        assert_eq!(end - start, 28 * 86_400_000_000);
        assert_eq!(p.time_range("null"), None);
    }

    #[test]
    fn hash_buckets_are_stable_and_widening_safe() {
        let p = Partitioning::Hash {
            column: 1,
            buckets: 8,
        };
        let small: ArrayRef = Arc::new(Int32Array::from(vec![42]));
        let wide: ArrayRef = Arc::new(arrow::array::Int64Array::from(vec![42]));
        assert_eq!(p.keys(&small).unwrap(), p.keys(&wide).unwrap());
        let text: ArrayRef = Arc::new(StringArray::from(vec!["host-1"]));
        // Fixed forever: blocks on disk were placed by it.
        assert_eq!(hash_value(&text, 0).unwrap(), Some(fnv1a(b"host-1")));
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    }
}
