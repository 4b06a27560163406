//! Functions PostgreSQL clients call at connect time: `version()`, `current_database()`,
//! `current_schema()`, `pg_backend_pid()`, `session_user` (which `current_user` is
//! rewritten to in catalog queries), `current_setting(name)`.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::datatypes::{Field, FieldRef};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{
    create_udf, ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, Volatility,
};
use parking_lot::Mutex;

use super::settings::Settings;
use crate::error::Error;

/// A zero-argument function returning a constant for the session.
fn constant(name: &str, value: ScalarValue) -> ScalarUDF {
    let data_type = value.data_type();
    create_udf(
        name,
        vec![],
        data_type,
        Volatility::Stable,
        Arc::new(move |_args: &[ColumnarValue]| Ok(ColumnarValue::Scalar(value.clone()))),
    )
}

/// `current_setting(name)`: the session's value of a setting, as SHOW prints it.
fn current_setting(settings: Arc<Mutex<Settings>>) -> ScalarUDF {
    create_udf(
        "current_setting",
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(move |args: &[ColumnarValue]| {
            map_text(&args[0], |name| match settings.lock().get(name) {
                Some((_, value)) => Ok(value.to_string()),
                None => Err(Error::UndefinedObject(format!(
                    "unrecognized configuration parameter \"{name}\""
                ))),
            })
        }),
    )
}

/// A text function's result for its one text argument, scalar or column: `f` of each
/// value, NULL for NULL.
pub(super) fn map_text(
    argument: &ColumnarValue,
    mut f: impl FnMut(&str) -> crate::error::Result<String>,
) -> datafusion::error::Result<ColumnarValue> {
    let values = argument.to_array(1)?;
    let values = datafusion::arrow::compute::cast(&values, &DataType::Utf8)?;
    let mut results = Vec::with_capacity(values.len());
    for value in values.as_string::<i32>().iter() {
        results.push(value.map(&mut f).transpose()?);
    }
    let array: ArrayRef = Arc::new(StringArray::from(results));
    Ok(match argument {
        ColumnarValue::Scalar(_) => ColumnarValue::Scalar(ScalarValue::try_from_array(&array, 0)?),
        ColumnarValue::Array(_) => ColumnarValue::Array(array),
    })
}

pub fn session_functions(
    database: &str,
    user: &str,
    pid: i32,
    settings: Arc<Mutex<Settings>>,
) -> Vec<ScalarUDF> {
    let version = format!(
        "PostgreSQL {} (Grizzly {}) on {}, compiled by rustc",
        crate::PG_SERVER_VERSION,
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    );
    vec![
        constant("version", ScalarValue::Utf8(Some(version))),
        constant(
            "current_database",
            ScalarValue::Utf8(Some(database.to_string())),
        ),
        constant(
            "current_catalog",
            ScalarValue::Utf8(Some(database.to_string())),
        ),
        constant("current_schema", ScalarValue::Utf8(Some("public".into()))),
        constant("pg_backend_pid", ScalarValue::Int32(Some(pid))),
        constant("session_user", ScalarValue::Utf8(Some(user.to_string()))),
        constant("current_user", ScalarValue::Utf8(Some(user.to_string()))),
        constant("current_role", ScalarValue::Utf8(Some(user.to_string()))),
        constant("user", ScalarValue::Utf8(Some(user.to_string()))),
        current_setting(settings),
        ScalarUDF::new_from_impl(NumericCast::new()),
    ]
}

/// `grizzly_numeric(x)`: `x::numeric` keeping x's scale (see `numbers::bare_numeric_casts`):
/// a numeric's own, 0 for an integer, a literal's digits after the point; numeric(38,10)
/// otherwise (a float or text column).
#[derive(Debug, PartialEq, Eq, Hash)]
struct NumericCast {
    signature: Signature,
}

impl NumericCast {
    fn new() -> NumericCast {
        NumericCast {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }

    fn scale(input: &DataType, constant: Option<&ScalarValue>) -> i8 {
        const DEFAULT_SCALE: i8 = 10;
        match (input, constant) {
            (DataType::Decimal128(_, scale) | DataType::Decimal256(_, scale), _) => {
                (*scale).clamp(0, 38)
            }
            (t, _) if t.is_integer() => 0,
            (_, Some(ScalarValue::Utf8(Some(text)) | ScalarValue::Utf8View(Some(text)))) => {
                super::numbers::decimal_places(text).map_or(DEFAULT_SCALE, |n| n.min(38) as i8)
            }
            _ => DEFAULT_SCALE,
        }
    }
}

impl ScalarUDFImpl for NumericCast {
    fn name(&self) -> &str {
        "grizzly_numeric"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> datafusion::error::Result<DataType> {
        Ok(DataType::Decimal128(38, Self::scale(&args[0], None)))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> datafusion::error::Result<FieldRef> {
        let input = args.arg_fields[0].data_type();
        let constant = args.scalar_arguments.first().copied().flatten();
        let data_type = DataType::Decimal128(38, Self::scale(input, constant));
        Ok(Arc::new(Field::new(self.name(), data_type, true)))
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        args.args[0].cast_to(args.return_field.data_type(), None)
    }
}
