//! Planning time travel: `FROM t AS OF TIMESTAMP <expr>` / `FOR SYSTEM_TIME AS OF <expr>`
//! (parsed by `dialect.rs`), and the `grizzly_history('t')` table function.
//!
//! `AsOfPlanner` is a DataFusion `RelationPlanner`: for a table reference with a version
//! it evaluates the time expression to a constant timestamp, asks the database for the
//! table as of then, and plans an ordinary table scan of that snapshot, so projection,
//! filter and limit pushdown work as they do on the present table. Each reference
//! resolves its own time, so one query can join a table now with itself in the past.
//!
//! A `$n` parameter in the time cannot be evaluated while planning at Parse time;
//! `bind_version_params` substitutes the bound values into the statement at Execute and
//! the statement is planned again (`Session::execute`).

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::tree_node::TreeNode;
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::datasource::provider_as_source;
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result as DFResult};
use datafusion::logical_expr::planner::{
    PlannedRelation, RelationPlanner, RelationPlannerContext, RelationPlanning,
};
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::{cast, Expr, LogicalPlanBuilder};
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::sql::sqlparser::ast::{self, TableFactor, TableVersion, VisitMut, VisitorMut};

use super::ddl;
use crate::error::Error;
use crate::storage::history::format_ts;
use crate::storage::Database;
use crate::table::GrizzlyTable;

/// `timestamp with time zone` as Grizzly's columns and functions carry it.
pub(super) fn timestamptz() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()))
}

pub struct AsOfPlanner {
    db: Arc<Database>,
}

impl std::fmt::Debug for AsOfPlanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AsOfPlanner")
    }
}

impl AsOfPlanner {
    pub fn new(db: Arc<Database>) -> AsOfPlanner {
        AsOfPlanner { db }
    }
}

impl RelationPlanner for AsOfPlanner {
    fn plan_relation(
        &self,
        relation: TableFactor,
        context: &mut dyn RelationPlannerContext,
    ) -> DFResult<RelationPlanning> {
        let TableFactor::Table {
            name,
            alias,
            version: Some(version),
            args: None,
            ..
        } = &relation
        else {
            return Ok(RelationPlanning::Original(Box::new(relation)));
        };
        let TableVersion::ForSystemTimeAsOf(time) = version else {
            return Err(Error::Unsupported(format!(
                "table version \"{version}\" is not supported; use AS OF TIMESTAMP <time> or FOR SYSTEM_TIME AS OF <time>"
            ))
            .into());
        };
        let table = ddl::table_name(name)?;
        let ts = constant_time(time, context)?;
        let snapshot = self.db.snapshot_at(&table, ts)?;
        let provider = GrizzlyTable::past(self.db.clone(), snapshot)?;
        // The scan is named after its time, so DataFusion never takes it for a scan of
        // the present table (or of another time) when comparing plans, e.g. to share
        // identical subqueries; the alias gives it the table's name back.
        let scan_name = format!("{table} as of {}", format_ts(ts));
        let plan =
            LogicalPlanBuilder::scan(scan_name, provider_as_source(Arc::new(provider)), None)?
                .build()?;
        let alias = alias.clone().unwrap_or_else(|| ast::TableAlias {
            explicit: false,
            name: ast::Ident::with_quote('"', table),
            columns: vec![],
            at: None,
        });
        Ok(RelationPlanning::Planned(Box::new(PlannedRelation::new(
            plan,
            Some(alias),
        ))))
    }
}

/// Evaluates the AS OF expression to microseconds since the epoch.
fn constant_time(time: &ast::Expr, context: &mut dyn RelationPlannerContext) -> DFResult<i64> {
    let mut refers_to_columns = false;
    let _ = ast::visit_expressions(time, |e| {
        refers_to_columns |= matches!(
            e,
            ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_)
        );
        std::ops::ControlFlow::<()>::Continue(())
    });
    if refers_to_columns {
        return Err(not_constant(time));
    }
    let expr = context.sql_to_expr(time.clone(), &DFSchema::empty())?;
    if expr.any_column_refs() {
        return Err(not_constant(time));
    }
    if expr.exists(|e| Ok(matches!(e, Expr::Placeholder(_))))? {
        return Err(Error::Unsupported(format!(
            "a parameter in AS OF is bound only through the extended protocol (Parse/Bind), not SQL PREPARE (in AS OF {time})"
        ))
        .into());
    }
    let options = Arc::new(context.context_provider().options().clone());
    let simplifier = ExprSimplifier::new(
        SimplifyContext::builder()
            .with_config_options(options)
            .with_current_time()
            .build(),
    );
    match simplifier.simplify(cast(expr, timestamptz()))? {
        Expr::Literal(ScalarValue::TimestampMicrosecond(Some(ts), _), _) => Ok(ts),
        Expr::Literal(_, _) => Err(Error::InvalidInput(format!(
            "AS OF needs a timestamp, not NULL (in AS OF {time})"
        ))
        .into()),
        _ => Err(not_constant(time)),
    }
}

fn not_constant(time: &ast::Expr) -> DataFusionError {
    Error::InvalidInput(format!(
        "AS OF needs a constant timestamp expression such as '2026-11-24 10:00:00+00' or now() - interval '5 minutes', not {time}"
    ))
    .into()
}

/// Whether any table reference in `statement` reads the past.
pub fn reads_the_past(statement: &mut ast::Statement) -> bool {
    if matches!(statement, ast::Statement::Prepare { .. }) {
        return false; // planned once by DataFusion's PREPARE; see `constant_time`
    }
    let mut found = false;
    let _ = statement.visit(&mut VersionExprs(|_: &mut ast::Expr| found = true));
    found
}

/// The positions ($1 = 0) of parameters used in AS OF times.
pub fn version_params(statement: &mut ast::Statement) -> Vec<usize> {
    let mut found = Vec::new();
    let _ = statement.visit(&mut VersionExprs(|expr: &mut ast::Expr| {
        let _ = expr.visit(&mut Placeholders(|p: &mut ast::Expr| {
            if let Some(Some(index)) = placeholder(p) {
                found.push(index);
            }
        }));
    }));
    found.sort();
    found.dedup();
    found
}

/// Replaces `$n` in AS OF times with the bound values (or, with `None`, with `now()` so
/// the statement can be planned before values are bound).
pub fn bind_version_params(
    statement: &mut ast::Statement,
    params: Option<&[ScalarValue]>,
) -> crate::error::Result<()> {
    let mut error = None;
    let _ = statement.visit(&mut VersionExprs(|expr: &mut ast::Expr| {
        let _ = expr.visit(&mut Placeholders(|p: &mut ast::Expr| {
            let Some(index) = placeholder(p) else { return };
            *p = match (params, index) {
                (None, _) => ast::Expr::Function(ast::Function {
                    name: ast::ObjectName::from(vec![ast::Ident::new("now")]),
                    uses_odbc_syntax: false,
                    parameters: ast::FunctionArguments::None,
                    args: ast::FunctionArguments::List(ast::FunctionArgumentList {
                        duplicate_treatment: None,
                        args: vec![],
                        clauses: vec![],
                    }),
                    filter: None,
                    null_treatment: None,
                    over: None,
                    within_group: vec![],
                }),
                (Some(values), Some(i)) if i < values.len() => match time_literal(&values[i]) {
                    Ok(literal) => literal,
                    Err(err) => {
                        error = Some(err);
                        return;
                    }
                },
                _ => {
                    error = Some(Error::InvalidInput(format!(
                        "there is no parameter {p} for AS OF"
                    )));
                    return;
                }
            };
        }));
    }));
    error.map_or(Ok(()), Err)
}

/// A bound parameter as a SQL timestamptz literal.
fn time_literal(value: &ScalarValue) -> crate::error::Result<ast::Expr> {
    let text = match value {
        ScalarValue::TimestampMicrosecond(Some(us), _) => crate::storage::history::format_ts(*us),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => s.clone(),
        other if other.is_null() => {
            return Err(Error::InvalidInput(
                "AS OF needs a timestamp, not NULL".into(),
            ))
        }
        other => {
            return Err(Error::TypeMismatch(format!(
                "AS OF needs a timestamp, not {}",
                other.data_type()
            )))
        }
    };
    Ok(ast::Expr::Cast {
        kind: ast::CastKind::DoubleColon,
        expr: Box::new(ast::Expr::Value(
            ast::Value::SingleQuotedString(text).into(),
        )),
        data_type: ast::DataType::Timestamp(None, ast::TimezoneInfo::WithTimeZone),
        array: false,
        format: None,
    })
}

/// For a placeholder: `Some(Some(index))` for `$n` (n >= 1, index n - 1), `Some(None)`
/// for any other spelling (`$0`, `?`); `None` for other expressions.
pub(super) fn placeholder(expr: &ast::Expr) -> Option<Option<usize>> {
    let ast::Expr::Value(v) = expr else {
        return None;
    };
    let ast::Value::Placeholder(name) = &v.value else {
        return None;
    };
    let n = name.strip_prefix('$').and_then(|n| n.parse::<usize>().ok());
    Some(n.and_then(|n| n.checked_sub(1)))
}

/// Calls `f` on the time expression of every table reference with AS OF.
struct VersionExprs<F>(F);

impl<F: FnMut(&mut ast::Expr)> VisitorMut for VersionExprs<F> {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> std::ops::ControlFlow<()> {
        if let TableFactor::Table {
            version: Some(TableVersion::ForSystemTimeAsOf(expr)),
            ..
        } = factor
        {
            (self.0)(expr);
        }
        std::ops::ControlFlow::Continue(())
    }
}

/// Calls `f` on every expression (post-order), which the caller filters to placeholders.
struct Placeholders<F>(F);

impl<F: FnMut(&mut ast::Expr)> VisitorMut for Placeholders<F> {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut ast::Expr) -> std::ops::ControlFlow<()> {
        (self.0)(expr);
        std::ops::ControlFlow::Continue(())
    }
}

/// `grizzly_history('t')`: the versions of table `t`, so users can pick a time.
pub struct HistoryFunction {
    db: Arc<Database>,
}

impl std::fmt::Debug for HistoryFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HistoryFunction")
    }
}

impl HistoryFunction {
    pub fn new(db: Arc<Database>) -> HistoryFunction {
        HistoryFunction { db }
    }
}

impl TableFunctionImpl for HistoryFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DFResult<Arc<dyn TableProvider>> {
        let name = super::introspection::table_name_argument("grizzly_history", &args)?;
        let entries = self.db.table_history(&name)?;
        let schema = Arc::new(Schema::new(vec![
            Field::new("commit_ts", timestamptz(), false),
            Field::new("operation", DataType::Utf8, false),
            Field::new("rows_added", DataType::Int64, false),
            Field::new("schema_version", DataType::Int64, false),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(entries.iter().map(|e| e.commit_ts))
                    .with_timezone("+00:00"),
            ),
            Arc::new(StringArray::from_iter_values(
                entries.iter().map(|e| e.operation),
            )),
            Arc::new(Int64Array::from_iter_values(
                entries.iter().map(|e| e.rows_added as i64),
            )),
            Arc::new(Int64Array::from_iter_values(
                entries.iter().map(|e| e.schema_version as i64),
            )),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns)?;
        Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
    }
}
