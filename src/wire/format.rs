//! PostgreSQL's output formats for result values, written straight into a DataRow buffer.
//!
//! Streaming a large result formats millions of values a second. Going through chrono's
//! strftime (which parses its format string on every call), `to_string` or `format!`
//! costs a parse and an allocation per value, which showed as a fifth of the server's
//! CPU when fetching a table. These functions write digits directly instead, and match
//! PostgreSQL's text output byte for byte (DateStyle ISO, session time zone UTC):
//!
//! - date `YYYY-MM-DD`, with ` BC` for years up to 0 (year 0 is 1 BC);
//! - timestamp `YYYY-MM-DD HH:MM:SS[.ffffff]`, fraction without trailing zeros,
//!   timestamptz followed by `+00`, ` BC` last;
//! - time `HH:MM:SS[.ffffff]`;
//! - numeric with exactly the column's scale (`0.50`, `-0.005`, `7`).
//!
//! The binary forms of numeric, date and timestamp are here too, as PostgreSQL's
//! `numeric_send`, `date_send` and `timestamp_send` lay them out.

use std::fmt::Write as _;

use bytes::{BufMut, BytesMut};

/// Days from 1970-01-01 to 2000-01-01, PostgreSQL's date epoch.
const PG_EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's timestamp epoch.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// An integer in decimal.
pub fn put_int(out: &mut BytesMut, value: impl itoa::Integer) {
    out.put_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Year, month and day (proleptic Gregorian) of a day count since 1970-01-01; the
/// year is astronomical (0 is 1 BC). Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // from 0000-03-01, so leap days end each 4-year cycle
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097) as u32;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era as i64 + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Two digits, zero-padded.
fn put_two_digits(out: &mut BytesMut, value: u32) {
    out.put_slice(&[b'0' + (value / 10) as u8, b'0' + (value % 10) as u8]);
}

/// `YYYY-MM-DD` of a day count since 1970-01-01, the year at least four digits and
/// counted BC when not positive. Returns whether the date is BC: PostgreSQL puts the
/// ` BC` after everything else in the value.
fn put_ymd(out: &mut BytesMut, days: i64) -> bool {
    let (year, month, day) = civil_from_days(days);
    let bc = year <= 0;
    let year = if bc { 1 - year } else { year } as u64;
    if year < 10_000 {
        put_two_digits(out, (year / 100) as u32);
        put_two_digits(out, (year % 100) as u32);
    } else {
        put_int(out, year);
    }
    out.put_u8(b'-');
    put_two_digits(out, month);
    out.put_u8(b'-');
    put_two_digits(out, day);
    bc
}

/// A date (days since 1970-01-01) as text.
pub fn put_date(out: &mut BytesMut, days: i32) {
    if put_ymd(out, i64::from(days)) {
        out.put_slice(b" BC");
    }
}

/// A date in binary: days since 2000-01-01. Dates beyond the i32 range clamp to
/// PostgreSQL's `-infinity`/`infinity` (i32::MIN/MAX).
pub fn put_date_binary(out: &mut BytesMut, days: i32) {
    out.put_i32(days.saturating_sub(PG_EPOCH_DAYS));
}

/// `HH:MM:SS[.ffffff]` of microseconds since midnight (`0..MICROS_PER_DAY`).
pub fn put_time(out: &mut BytesMut, micros: i64) {
    let seconds = micros / 1_000_000;
    put_two_digits(out, (seconds / 3_600) as u32);
    out.put_u8(b':');
    put_two_digits(out, (seconds / 60 % 60) as u32);
    out.put_u8(b':');
    put_two_digits(out, (seconds % 60) as u32);
    put_fraction(out, (micros % 1_000_000) as u32);
}

/// `.ffffff` without trailing zeros, or nothing for a whole second.
fn put_fraction(out: &mut BytesMut, mut micros: u32) {
    if micros == 0 {
        return;
    }
    let mut width = 6;
    while micros.is_multiple_of(10) {
        micros /= 10;
        width -= 1;
    }
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(micros);
    out.put_u8(b'.');
    out.put_bytes(b'0', width - digits.len());
    out.put_slice(digits.as_bytes());
}

/// Whether microseconds since midnight are a time of day PostgreSQL's `time` can hold.
pub fn is_time_of_day(micros: i64) -> bool {
    (0..MICROS_PER_DAY).contains(&micros)
}

/// A timestamp (microseconds since 1970-01-01 UTC) as text; `with_tz` appends the
/// session's UTC offset, `+00`.
pub fn put_timestamp(out: &mut BytesMut, micros: i64, with_tz: bool) {
    let bc = put_ymd(out, micros.div_euclid(MICROS_PER_DAY));
    out.put_u8(b' ');
    put_time(out, micros.rem_euclid(MICROS_PER_DAY));
    if with_tz {
        out.put_slice(b"+00");
    }
    if bc {
        out.put_slice(b" BC");
    }
}

/// A timestamp in binary: microseconds since 2000-01-01, clamped to PostgreSQL's
/// `-infinity`/`infinity` (i64::MIN/MAX) at the ends of the range.
pub fn put_timestamp_binary(out: &mut BytesMut, micros: i64) {
    out.put_i64(micros.saturating_sub(PG_EPOCH_MICROS));
}

/// The decimal digits of `value`, without a sign.
fn unsigned_digits(buffer: &mut itoa::Buffer, value: u128) -> &[u8] {
    match u64::try_from(value) {
        Ok(small) => buffer.format(small).as_bytes(), // u128 division is much slower
        Err(_) => buffer.format(value).as_bytes(),
    }
}

/// A numeric (an unscaled integer and its scale, as Arrow's Decimal128 stores it) as
/// text, with exactly `scale` fractional digits; a negative scale multiplies by a power
/// of ten.
pub fn put_numeric(out: &mut BytesMut, value: i128, scale: i8) {
    let mut buffer = itoa::Buffer::new();
    let digits = unsigned_digits(&mut buffer, value.unsigned_abs());
    if value < 0 {
        out.put_u8(b'-');
    }
    if scale <= 0 {
        out.put_slice(digits);
        if value != 0 {
            out.put_bytes(b'0', scale.unsigned_abs() as usize);
        }
        return;
    }
    let scale = scale as usize;
    if digits.len() > scale {
        let (int, fraction) = digits.split_at(digits.len() - scale);
        out.put_slice(int);
        out.put_u8(b'.');
        out.put_slice(fraction);
    } else {
        out.put_slice(b"0.");
        out.put_bytes(b'0', scale - digits.len());
        out.put_slice(digits);
    }
}

/// PostgreSQL's binary numeric: digit count, weight (of the first digit, in powers of
/// 10000), sign and display scale, each 16 bits, then the base-10000 digits, most
/// significant first, without leading or trailing zero digits.
pub fn put_numeric_binary(out: &mut BytesMut, value: i128, scale: i8) {
    // Decimal digit i (from the right) of the unscaled value is worth 10^(i - scale);
    // base-10000 digit w holds the decimal digits worth 10^(4w) to 10^(4w + 3).
    let mut buffer = itoa::Buffer::new();
    let digits = unsigned_digits(&mut buffer, value.unsigned_abs());
    let mut groups = [0i16; 12]; // 39 decimal digits span at most 11 groups
    let lowest = (-i32::from(scale)).div_euclid(4);
    let mut highest = lowest;
    for (i, digit) in digits.iter().rev().enumerate() {
        let power = i as i32 - i32::from(scale);
        let group = power.div_euclid(4);
        let weight = [1, 10, 100, 1000][power.rem_euclid(4) as usize];
        groups[(group - lowest) as usize] += i16::from(digit - b'0') * weight;
        highest = group;
    }
    let used = &groups[..=(highest - lowest) as usize];
    let trailing_zeros = used.iter().take_while(|g| **g == 0).count();
    let nonzero = &used[trailing_zeros..];
    if value == 0 {
        out.put_i16(0); // no digits
        out.put_i16(0);
    } else {
        out.put_i16(nonzero.len() as i16);
        out.put_i16(highest as i16);
    }
    out.put_u16(if value < 0 { 0x4000 } else { 0 });
    out.put_u16(scale.max(0) as u16);
    if value != 0 {
        for group in nonzero.iter().rev() {
            out.put_i16(*group);
        }
    }
}

/// float4 and float8 as PostgreSQL prints them (extra_float_digits = 1): the shortest
/// text that reads back exactly, in exponent form (`1e+20`, `1e-07`) when the decimal
/// exponent is below -4 or at least `precision` (15 for float8, 6 for float4). `F` is
/// the column's own type: an f32 widened to f64 would print the widening's digits.
pub fn put_float<F>(out: &mut BytesMut, value: F, precision: i32)
where
    F: Into<f64> + Copy + std::fmt::Display + std::fmt::LowerExp,
{
    let wide: f64 = value.into();
    if wide.is_nan() {
        out.put_slice(b"NaN");
        return;
    }
    if wide.is_infinite() {
        out.put_slice(if wide > 0.0 {
            b"Infinity"
        } else {
            b"-Infinity"
        });
        return;
    }
    // Rust's `{:e}` gives the shortest round-trip digits and the exponent (`1.5e-7`);
    // write it in place, then keep it in PostgreSQL's form or replace it by `{}`.
    let start = out.len();
    let _ = write!(out, "{value:e}");
    let e = start + out[start..].iter().position(|b| *b == b'e').unwrap_or(0);
    let exponent: i32 = std::str::from_utf8(&out[e + 1..])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if wide != 0.0 && !(-4..precision).contains(&exponent) {
        out.truncate(e + 1);
        out.put_u8(if exponent < 0 { b'-' } else { b'+' });
        if exponent.abs() < 10 {
            out.put_u8(b'0');
        }
        put_int(out, exponent.unsigned_abs());
    } else {
        out.truncate(start);
        let _ = write!(out, "{value}");
    }
}

/// bytea as PostgreSQL prints it (bytea_output = hex): `\x` and two lowercase hex digits
/// a byte.
pub fn put_bytea_hex(out: &mut BytesMut, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(2 + bytes.len() * 2);
    out.put_slice(b"\\x");
    for byte in bytes {
        out.put_slice(&[HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(write: impl FnOnce(&mut BytesMut)) -> String {
        let mut out = BytesMut::new();
        write(&mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    fn days(y: i32, m: u32, d: u32) -> i32 {
        let date = chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
        date.signed_duration_since(chrono::NaiveDate::default())
            .num_days() as i32
    }

    #[test]
    fn dates_print_like_postgres() {
        let date = |days| text(|out| put_date(out, days));
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(-1), "1969-12-31");
        assert_eq!(date(days(2024, 2, 29)), "2024-02-29");
        assert_eq!(date(days(2000, 2, 29)), "2000-02-29");
        assert_eq!(date(days(1900, 3, 1) - 1), "1900-02-28"); // no leap day in 1900
        assert_eq!(date(days(1998, 12, 1)), "1998-12-01");
        assert_eq!(date(days(12345, 1, 1)), "12345-01-01");
        assert_eq!(date(days(1, 1, 1)), "0001-01-01");
        // Year 0 is 1 BC, year -43 is 44 BC; 1 BC was a leap year.
        assert_eq!(date(days(1, 1, 1) - 1), "0001-12-31 BC");
        assert_eq!(date(days(0, 2, 29)), "0001-02-29 BC");
        assert_eq!(date(days(-43, 3, 15)), "0044-03-15 BC");
    }

    #[test]
    fn every_day_of_four_centuries_matches_chrono() {
        let epoch = chrono::NaiveDate::default();
        for day in days(1800, 1, 1)..days(2200, 1, 1) {
            let expected = (epoch + chrono::Duration::days(i64::from(day)))
                .format("%Y-%m-%d")
                .to_string();
            assert_eq!(text(|out| put_date(out, day)), expected);
        }
    }

    #[test]
    fn timestamps_print_like_postgres() {
        let micros = |days: i32, seconds: i64, fraction: i64| {
            i64::from(days) * MICROS_PER_DAY + seconds * 1_000_000 + fraction
        };
        let ts = |micros, tz| text(|out| put_timestamp(out, micros, tz));
        let leap_day = micros(days(2024, 2, 29), 13 * 3600 + 14 * 60 + 15, 0);
        assert_eq!(ts(leap_day, false), "2024-02-29 13:14:15");
        assert_eq!(ts(leap_day + 123_456, false), "2024-02-29 13:14:15.123456");
        assert_eq!(ts(leap_day + 120_000, true), "2024-02-29 13:14:15.12+00");
        assert_eq!(ts(leap_day + 5, false), "2024-02-29 13:14:15.000005");
        assert_eq!(ts(0, true), "1970-01-01 00:00:00+00");
        assert_eq!(ts(-1, false), "1969-12-31 23:59:59.999999");
        let bc = micros(days(0, 12, 31), 86_399, 500_000);
        assert_eq!(ts(bc, false), "0001-12-31 23:59:59.5 BC");
        assert_eq!(
            ts(micros(days(0, 1, 1), 0, 0), true),
            "0001-01-01 00:00:00+00 BC"
        );
    }

    #[test]
    fn times_print_like_postgres() {
        let time = |micros| text(|out| put_time(out, micros));
        assert_eq!(time(0), "00:00:00");
        assert_eq!(time(45_296_500_000), "12:34:56.5");
        assert_eq!(time(MICROS_PER_DAY - 1), "23:59:59.999999");
        assert!(!is_time_of_day(MICROS_PER_DAY));
        assert!(!is_time_of_day(-1));
    }

    #[test]
    fn dates_and_timestamps_in_binary_count_from_2000() {
        let binary = |write: &dyn Fn(&mut BytesMut)| {
            let mut out = BytesMut::new();
            write(&mut out);
            out.to_vec()
        };
        assert_eq!(
            binary(&|out| put_date_binary(out, days(2000, 1, 2))),
            [0, 0, 0, 1]
        );
        assert_eq!(
            binary(&|out| put_date_binary(out, i32::MIN)),
            i32::MIN.to_be_bytes()
        );
        assert_eq!(
            binary(&|out| put_timestamp_binary(out, PG_EPOCH_MICROS - 1)),
            (-1i64).to_be_bytes()
        );
    }

    #[test]
    fn numerics_print_with_the_column_scale() {
        let numeric = |value, scale| text(|out| put_numeric(out, value, scale));
        assert_eq!(numeric(12345, 2), "123.45");
        assert_eq!(numeric(-12345, 2), "-123.45");
        assert_eq!(numeric(-5, 3), "-0.005");
        assert_eq!(numeric(50, 2), "0.50");
        assert_eq!(numeric(0, 2), "0.00");
        assert_eq!(numeric(7, 0), "7");
        assert_eq!(numeric(-7, 0), "-7");
        assert_eq!(numeric(0, 0), "0");
        assert_eq!(numeric(12, -2), "1200");
        assert_eq!(numeric(i128::MAX, 0), i128::MAX.to_string());
        assert_eq!(
            numeric(-(10i128.pow(37)) - 1, 38),
            "-0.10000000000000000000000000000000000001"
        );
    }

    /// Binary numerics decode (by rust_decimal's PostgreSQL reader) to the same value
    /// and scale as the text form.
    #[test]
    fn numeric_binary_round_trips_through_postgres_types() {
        let values = [
            0i128,
            1,
            -1,
            5,
            -1234567,
            10_000,
            99_990_000,
            123_456_789_012_345,
            -100_000_000_000_000_000,
            79_228_162_514_264_337_593_543_950_335, // rust_decimal's maximum
        ];
        for value in values {
            for scale in [0i8, 1, 2, 3, 4, 5, 8, 12] {
                let mut out = BytesMut::new();
                put_numeric_binary(&mut out, value, scale);
                let decoded = <rust_decimal::Decimal as postgres_types::FromSql>::from_sql(
                    &postgres_types::Type::NUMERIC,
                    &out,
                )
                .unwrap();
                let expected = text(|out| put_numeric(out, value, scale));
                assert_eq!(decoded.to_string(), expected, "{value} scale {scale}");
            }
        }
    }

    #[test]
    fn numeric_binary_layout() {
        let binary = |value, scale| {
            let mut out = BytesMut::new();
            put_numeric_binary(&mut out, value, scale);
            out.chunks(2)
                .map(|c| i16::from_be_bytes([c[0], c[1]]))
                .collect::<Vec<_>>()
        };
        // 12345.6789: digits 1 2345 6789, weight 1.
        assert_eq!(binary(123_456_789, 4), [3, 1, 0, 4, 1, 2345, 6789]);
        // -0.05 (scale 2): one digit 500 at weight -1.
        assert_eq!(binary(-5, 2), [1, -1, 0x4000, 2, 500]);
        // 10000: one digit 1 at weight 1, the zero digit trimmed.
        assert_eq!(binary(10_000, 0), [1, 1, 0, 0, 1]);
        // 1200 stored as 12 with scale -2.
        assert_eq!(binary(12, -2), [1, 0, 0, 0, 1200]);
        assert_eq!(binary(0, 3), [0, 0, 0, 3]);
    }

    #[test]
    fn floats_print_like_postgres() {
        let float8 = |v: f64| text(|out| put_float(out, v, 15));
        let float4 = |v: f32| text(|out| put_float(out, v, 6));
        assert_eq!(float8(1.0), "1");
        assert_eq!(float8(1.5), "1.5");
        assert_eq!(float8(-0.25), "-0.25");
        assert_eq!(float8(0.0), "0");
        assert_eq!(float8(1e20), "1e+20");
        assert_eq!(float8(1e-7), "1e-07");
        assert_eq!(float8(1.5e300), "1.5e+300");
        assert_eq!(float8(0.0001), "0.0001");
        assert_eq!(float8(f64::INFINITY), "Infinity");
        assert_eq!(float8(f64::NAN), "NaN");
        assert_eq!(float4(123456789.0), "1.2345679e+08");
        assert_eq!(float4(0.1), "0.1");
    }

    #[test]
    fn integers_and_bytea() {
        assert_eq!(text(|out| put_int(out, i64::MIN)), "-9223372036854775808");
        assert_eq!(text(|out| put_bytea_hex(out, &[0, 1, 0xff])), "\\x0001ff");
    }
}
