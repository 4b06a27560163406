//! `Session`: one client connection's SQL state and the routing of each statement.
//!
//! Every statement, in either protocol, is first `prepare`d (parsed, and planned by
//! DataFusion where DataFusion runs it) and then `execute`d with its parameters. The
//! simple protocol is the extended one with no parameters.
//!
//! Transactions: BEGIN/COMMIT/ROLLBACK/SAVEPOINT are accepted so drivers that wrap
//! statements in transactions work, but every statement commits on its own when it
//! completes. ROLLBACK therefore cannot undo writes; it says so with a WARNING when the
//! transaction wrote anything. Full transactions come in a later issue.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, Int64Array, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef, TimeUnit};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::execution::session_state::SessionState;
use datafusion::execution::{SendableRecordBatchStream, SessionStateBuilder};
use datafusion::logical_expr::{LogicalPlan, Statement as PlanStatement, WriteOp};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::{self, ObjectType, Statement};
use datafusion_pg_catalog::pg_catalog::oid_type_planner::PgOidTypePlanner;
use futures::StreamExt;
use parking_lot::Mutex;

use super::client_queries;
use super::copy::CopyFormat;
use super::copy_in::CopyIn;
use super::cursors::Cursors;
use super::functions::session_functions;
use super::settings::Settings;
use super::time_travel;
use super::Notices;
use super::{alter, ddl};
use crate::auth::Roles;
use crate::catalog::pg_catalog;
use crate::catalog::provider::GrizzlySchema;
use crate::catalog::{ColumnDef, ColumnType, TableDef};
use crate::error::{Error, Result};
use crate::storage::{Database, TableWriter};
use crate::table::GrizzlyTable;

/// How many prepared statements `Session::plans` keeps before starting over.
const PLAN_CACHE_ENTRIES: usize = 256;

/// A statement ready to execute.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub statement: Statement,
    /// DataFusion's plan, for the statements DataFusion runs.
    plan: Option<LogicalPlan>,
    /// Parameter fields DataFusion inferred, by position ($1 first); a parameter bound
    /// to a column carries the column's metadata (so a varchar column's is varchar).
    pub param_fields: Vec<Option<FieldRef>>,
    /// Columns of the rows the statement returns, if it returns rows.
    pub output: Option<SchemaRef>,
    /// The statement reads a table AS OF a time: it is planned again at each execution,
    /// so `now()` and parameters in the time are evaluated then, not at Parse.
    reads_the_past: bool,
    /// `Database::ddl_epoch` when planned: a table created, altered or dropped since
    /// makes the plan stale, and it is planned again at its next execution.
    ddl_epoch: u64,
    /// The plan has a rewrite that needs parameter values (`rewrite::waits_for_values`),
    /// made at each execution once they are bound.
    rewrite_when_bound: bool,
    /// For `DECLARE … CURSOR FOR query`: the query, prepared.
    cursor_query: Option<Box<Prepared>>,
}

/// What executing a statement produced.
pub enum Outcome {
    /// Rows, described by `schema` (which carries PostgreSQL's column names), and the
    /// command tag's word for them (`SELECT`; `FETCH` for a cursor's).
    Rows {
        schema: SchemaRef,
        stream: SendableRecordBatchStream,
        tag: &'static str,
    },
    /// A command tag (`CREATE TABLE`) with a row count where PostgreSQL gives one.
    Command {
        tag: String,
        rows: Option<u64>,
        oid: bool,
    },
    TransactionStart(String),
    TransactionEnd {
        tag: String,
        warning: Option<String>,
    },
    CopyIn(Box<CopyIn>),
    /// Rows to send as COPY data in `format`.
    CopyOut {
        schema: SchemaRef,
        stream: SendableRecordBatchStream,
        format: CopyFormat,
    },
}

impl Outcome {
    fn command(tag: &str) -> Outcome {
        Outcome::Command {
            tag: tag.to_string(),
            rows: None,
            oid: false,
        }
    }

    /// Rows already in memory.
    fn batches(schema: SchemaRef, batches: Vec<RecordBatch>, tag: &'static str) -> Outcome {
        let batches = futures::stream::iter(batches.into_iter().map(Ok));
        Outcome::Rows {
            stream: Box::pin(RecordBatchStreamAdapter::new(schema.clone(), batches)),
            schema,
            tag,
        }
    }
}

#[derive(Debug, Default)]
struct Transaction {
    open: bool,
    writes: u64,
}

pub struct Session {
    db: Arc<Database>,
    ctx: SessionContext,
    /// A snapshot of `ctx`'s state for planning. `SessionContext::state()` copies every
    /// function registry (hundreds of allocations), which cost more than planning a
    /// small statement itself; the snapshot is taken again only after a statement that
    /// changes the context (a DataFusion SET, DDL that DataFusion runs).
    planning_state: Mutex<Option<Arc<SessionState>>>,
    /// Statements prepared from SQL text in the extended protocol, by text, with the
    /// manifest version they were planned at. Drivers that send every statement as an
    /// unnamed Parse (pgbench -M extended, psycopg) would otherwise parse and plan the
    /// same text on every execution. Cleared with `planning_state`.
    plans: Mutex<HashMap<String, (u64, Prepared)>>,
    /// Statements prepared with SQL `PREPARE` (DataFusion keeps them) and the columns
    /// their EXECUTE returns, so EXECUTE can be described and `DEALLOCATE ALL` can
    /// remove them.
    sql_prepared: Mutex<HashMap<String, datafusion::arrow::datatypes::SchemaRef>>,
    settings: Arc<Mutex<Settings>>,
    roles: Arc<Roles>,
    /// The role the session logged in as, and whether it has a superuser's rights.
    user: String,
    superuser: bool,
    transaction: Mutex<Transaction>,
    cursors: Mutex<Cursors>,
    notices: Notices,
}

impl Session {
    pub fn new(
        db: Arc<Database>,
        roles: Arc<Roles>,
        database: &str,
        user: &str,
        superuser: bool,
        pid: i32,
    ) -> Session {
        let mut config = SessionConfig::new()
            .with_information_schema(false)
            .with_default_catalog_and_schema("datafusion", "public");
        // PostgreSQL reads `1.005` as numeric, not float, and timestamptz values are
        // shown in the session time zone, UTC.
        config.options_mut().sql_parser.parse_float_as_decimal = true;
        config.options_mut().execution.time_zone = Some("+00:00".into());
        // Blocks are pruned by row group and page (the scan's predicate); filtering rows
        // inside the Parquet decoder as well measured slower (TPC-H Q6: 124 vs 80 ms).
        config.options_mut().execution.parquet.pushdown_filters = false;
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .with_type_planner(Arc::new(PgOidTypePlanner))
            .build();
        let ctx = SessionContext::new_with_state(state);
        let catalog = ctx
            .catalog("datafusion")
            .expect("the default catalog exists");
        catalog
            .register_schema("public", Arc::new(GrizzlySchema::new(db.clone())))
            .expect("the memory catalog accepts schemas");
        let mut defaults = Settings::default();
        defaults.set_reported("session_authorization", user);
        defaults.set_reported("is_superuser", if superuser { "on" } else { "off" });
        let settings = Arc::new(Mutex::new(defaults));
        pg_catalog::install(&ctx, db.clone(), roles.clone(), database, settings.clone())
            .expect("pg_catalog installs in a new session");
        for function in session_functions(database, user, pid, settings.clone()) {
            ctx.register_udf(function);
        }
        let notices = Notices::default();
        ctx.register_udf(super::maintenance::compact_function(
            db.clone(),
            notices.sender(),
        ));
        ctx.register_relation_planner(Arc::new(time_travel::AsOfPlanner::new(db.clone())))
            .expect("the relation planner registers");
        ctx.register_udtf(
            "grizzly_backup",
            Arc::new(super::backup::BackupFunction::new(
                db.clone(),
                notices.sender(),
                superuser,
            )),
        );
        ctx.register_udtf(
            "grizzly_backups",
            Arc::new(super::backup::BackupsFunction::new(db.clone())),
        );
        ctx.register_udtf(
            "grizzly_history",
            Arc::new(time_travel::HistoryFunction::new(db.clone())),
        );
        ctx.register_udtf(
            "grizzly_blocks",
            Arc::new(super::introspection::BlocksFunction::new(db.clone())),
        );
        ctx.register_udtf(
            "grizzly_partitions",
            Arc::new(super::introspection::PartitionsFunction::new(db.clone())),
        );
        Session {
            db,
            roles,
            user: user.to_string(),
            superuser,
            ctx,
            planning_state: Mutex::new(None),
            plans: Mutex::new(HashMap::new()),
            sql_prepared: Mutex::new(Default::default()),
            settings,
            transaction: Mutex::new(Transaction::default()),
            cursors: Mutex::new(Cursors::default()),
            notices,
        }
    }

    /// The notices statements of this session send while they run.
    pub fn notices(&self) -> &Notices {
        &self.notices
    }

    /// After a statement that changes the context plans are made in.
    fn forget_plans(&self) {
        *self.planning_state.lock() = None;
        self.plans.lock().clear();
    }

    pub fn settings(&self) -> Settings {
        self.settings.lock().clone()
    }

    /// A setting the client sent in its start-up packet.
    pub fn set_startup(&self, name: &str, value: String) -> Result<()> {
        self.settings.lock().set(name, value)
    }

    fn actor(&self) -> super::roles::Actor<'_> {
        super::roles::Actor {
            user: &self.user,
            superuser: self.superuser,
        }
    }

    /// Splits `sql` into statements.
    pub fn parse(&self, sql: &str) -> Result<Vec<Statement>> {
        match super::dialect::parse(sql) {
            Ok(statements) => Ok(client_queries::adapt(sql, statements)),
            Err(e) => client_queries::parse_rejected(sql)
                .ok_or_else(|| Error::Syntax(format!("syntax error: {e}"))),
        }
    }

    /// Parses one statement for the extended protocol (none for an empty string).
    /// `types` are the parameter types Parse names (by position, `None` for unknown;
    /// SQL type names such as `int4`); see `parameters`.
    pub async fn prepare_sql(&self, sql: &str, types: &[Option<&str>]) -> Result<Option<Prepared>> {
        let version = self.db.manifest_version();
        let key = plan_key(sql, types);
        if let Some((cached_version, prepared)) = self.plans.lock().get(&key) {
            if *cached_version == version {
                return Ok(Some(prepared.clone()));
            }
        }
        let mut statements = self.parse(sql)?;
        match statements.len() {
            0 => Ok(None),
            1 => {
                let mut statement = statements.remove(0);
                super::parameters::type_operator_pairs(&mut statement, types);
                let mut prepared = self.prepare(statement.clone()).await?;
                let untyped: Vec<usize> = (0..types.len())
                    .filter(|&i| types[i].is_some() && !has_type(prepared.param_fields.get(i)))
                    .collect();
                if !untyped.is_empty() {
                    super::parameters::cast_to_parse_types(&mut statement, types, &untyped);
                    prepared = self.prepare(statement).await?;
                }
                if prepared.plan.is_some() && !prepared.reads_the_past {
                    let mut plans = self.plans.lock();
                    if plans.len() >= PLAN_CACHE_ENTRIES {
                        plans.clear();
                    }
                    plans.insert(key, (version, prepared.clone()));
                }
                Ok(Some(prepared))
            }
            _ => Err(Error::Syntax(
                "cannot insert multiple commands into a prepared statement".into(),
            )),
        }
    }

    pub async fn prepare(&self, mut statement: Statement) -> Result<Prepared> {
        super::numbers::expand_exponents(&mut statement);
        let names = super::naming::alias_select_items(&mut statement);
        super::naming::int4_values(&mut statement);
        super::numbers::bare_numeric_casts(&mut statement);
        let reads_the_past = time_travel::reads_the_past(&mut statement);
        let mut prepared = Prepared {
            statement,
            plan: None,
            param_fields: Vec::new(),
            output: None,
            reads_the_past,
            ddl_epoch: self.db.ddl_epoch(),
            rewrite_when_bound: false,
            cursor_query: None,
        };
        match &prepared.statement {
            Statement::CreateTable(_)
            | Statement::AlterTable(_)
            | Statement::Drop { .. }
            | Statement::Copy { .. }
            | Statement::StartTransaction { .. }
            | Statement::Commit { .. }
            | Statement::Rollback { .. }
            | Statement::Savepoint { .. }
            | Statement::ReleaseSavepoint { .. }
            | Statement::CreateRole(_)
            | Statement::AlterRole { .. }
            | Statement::Discard { .. }
            | Statement::Reset(_)
            | Statement::Close { .. }
            | Statement::LISTEN { .. }
            | Statement::UNLISTEN { .. } => {}
            // The cursor's query says what its parameters are.
            Statement::Declare { stmts } => {
                if let Some(query) = stmts.first().and_then(|d| d.for_query.clone()) {
                    let query = Box::pin(self.prepare(Statement::Query(query))).await?;
                    prepared.param_fields = query.param_fields.clone();
                    prepared.cursor_query = Some(Box::new(query));
                }
            }
            Statement::Fetch { name, .. } => {
                prepared.output = self.cursor_schema(&name.value);
            }
            Statement::Set(set) if !is_datafusion_setting(set) => {}
            Statement::ShowVariable { variable } => {
                let name = show_name(variable);
                // The column is named as PostgreSQL spells the setting (`TimeZone`).
                let column = if name.eq_ignore_ascii_case("all") {
                    "name".to_string()
                } else {
                    let settings = self.settings.lock();
                    settings
                        .get(&name)
                        .map_or(name, |(display, _)| display.to_string())
                };
                prepared.output = Some(show_schema(&column, name_is_all(variable)));
            }
            _ => {
                if let Statement::Insert(insert) = &mut prepared.statement {
                    super::insert_checks::check_insert_shape(insert, &self.db)?;
                }
                let plan = if prepared.reads_the_past {
                    // Planned now only to describe it; the times are resolved at Execute.
                    let mut statement = prepared.statement.clone();
                    time_travel::bind_version_params(&mut statement, None)?;
                    self.plan(&statement).await?
                } else {
                    self.plan(&prepared.statement).await?
                };
                let plan = super::rewrite::apply(plan)?;
                prepared.rewrite_when_bound = super::rewrite::waits_for_values(&plan)?;
                prepared.param_fields = param_fields(&plan)?;
                for index in time_travel::version_params(&mut prepared.statement) {
                    if prepared.param_fields.len() <= index {
                        prepared.param_fields.resize(index + 1, None);
                    }
                    prepared.param_fields[index] = Some(Arc::new(Field::new(
                        format!("${}", index + 1),
                        DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
                        true,
                    )));
                }
                if returns_rows(&plan) {
                    let described = super::naming::rename(plan.schema().as_arrow(), &names);
                    prepared.output = Some(super::sources::mark(&plan, &described));
                }
                if let LogicalPlan::Statement(PlanStatement::Execute(execute)) = &plan {
                    prepared.output = self.sql_prepared.lock().get(&execute.name).cloned();
                }
                prepared.plan = Some(plan);
            }
        }
        Ok(prepared)
    }

    async fn plan(&self, statement: &Statement) -> Result<LogicalPlan> {
        let state = self
            .planning_state
            .lock()
            .get_or_insert_with(|| Arc::new(self.ctx.state()))
            .clone();
        match state
            .statement_to_plan(DFStatement::Statement(Box::new(statement.clone())))
            .await
        {
            Ok(plan) => Ok(super::insert_values::nullable_values(plan)?),
            Err(err) => Err(self.explain_planning_error(statement, err)),
        }
    }

    /// DataFusion reports a missing table as a generic planning error; name it properly
    /// (42P01) by checking the statement's table references ourselves.
    fn explain_planning_error(
        &self,
        statement: &Statement,
        err: datafusion::error::DataFusionError,
    ) -> Error {
        let mut ctes = Vec::new();
        collect_cte_names(statement, &mut ctes);
        let mut missing = None;
        for name in present_table_references(statement) {
            if let Ok(table) = ddl::table_name(&name) {
                let builtin =
                    name.0.len() > 1 || table.starts_with("pg_") || table == "information_schema";
                if !builtin && !ctes.contains(&table) && self.db.table(&table).is_none() {
                    missing = Some(table);
                    break;
                }
            }
        }
        if let Some(table) = missing {
            return Error::UndefinedTable(format!("relation \"{table}\" does not exist"));
        }
        // Likewise an unknown function (42883).
        let state = self.ctx.state();
        let mut unknown = None;
        let _ = ast::visit_expressions(statement, |expr| {
            if let ast::Expr::Function(function) = expr {
                let name = function.name.to_string().to_lowercase();
                // `unnest` is planned by the SQL planner itself, not looked up.
                let known = name == "unnest"
                    || state.scalar_functions().contains_key(&name)
                    || state.aggregate_functions().contains_key(&name)
                    || state.window_functions().contains_key(&name)
                    || state.table_functions().contains_key(&name);
                if !known && !name.contains('.') {
                    unknown = Some(name);
                    return std::ops::ControlFlow::Break(());
                }
            }
            std::ops::ControlFlow::Continue(())
        });
        match unknown {
            Some(name) => Error::UndefinedFunction(format!(
                "function {name} does not exist; no function of that name is known"
            )),
            None => Error::Query(err),
        }
    }

    /// Runs a prepared statement with its parameter values (already of the types in
    /// `param_types` where those are known).
    pub async fn execute(&self, prepared: &Prepared, params: Vec<ScalarValue>) -> Result<Outcome> {
        if let Some(plan) = &prepared.plan {
            let stale = prepared.ddl_epoch != self.db.ddl_epoch();
            let plan = if prepared.reads_the_past || stale {
                let mut statement = prepared.statement.clone();
                time_travel::bind_version_params(&mut statement, Some(&params))?;
                let replanned = super::rewrite::apply(self.plan(&statement).await?)?;
                // The client was told the columns at Describe; rows of other columns
                // cannot be sent under that description.
                let types = |p: &LogicalPlan| -> Vec<DataType> {
                    p.schema()
                        .fields()
                        .iter()
                        .map(|f| f.data_type().clone())
                        .collect()
                };
                if types(&replanned) != types(plan) {
                    return Err(if prepared.reads_the_past {
                        Error::InvalidInput(
                            "the columns of a table at the AS OF time differ from those \
                             described when the statement was prepared; prepare it with that \
                             time written out"
                                .into(),
                        )
                    } else {
                        // PostgreSQL's words for the same case.
                        Error::Unsupported(
                            "cached plan must not change result type: a table the statement \
                             reads was altered since it was prepared; prepare it again"
                                .into(),
                        )
                    });
                }
                replanned
            } else {
                plan.clone()
            };
            let plan = match (params.is_empty(), prepared.rewrite_when_bound) {
                (true, _) => plan,
                (false, false) => plan.with_param_values(params)?,
                (false, true) => super::rewrite::apply(plan.with_param_values(params)?)?,
            };
            return match self.execute_plan(plan).await? {
                Outcome::Rows {
                    schema,
                    stream,
                    tag,
                } => Ok(Outcome::Rows {
                    schema: prepared.output.clone().unwrap_or(schema),
                    stream,
                    tag,
                }),
                other => Ok(other),
            };
        }
        match &prepared.statement {
            Statement::CreateTable(create) => self.create_table(create).await,
            Statement::AlterTable(alter) => self.alter_table(alter).await,
            Statement::Drop {
                object_type,
                if_exists,
                names,
                ..
            } => {
                if matches!(object_type, ObjectType::Role | ObjectType::User) {
                    super::roles::drop(&self.roles, names, *if_exists, &self.actor())?;
                    return Ok(Outcome::command("DROP ROLE"));
                }
                if *object_type != ObjectType::Table {
                    return Err(Error::Unsupported(format!(
                        "DROP {object_type} is not supported"
                    )));
                }
                for name in names {
                    let name = ddl::table_name(name)?;
                    // Writes in flight finish first, so none commits into a dropped table.
                    let _lock = match self.db.table(&name) {
                        Some(table) => Some(self.db.lock_for_alter(table.id).await),
                        None => None,
                    };
                    self.db.drop_table(&name, *if_exists)?;
                }
                Ok(Outcome::command("DROP TABLE"))
            }
            Statement::Copy {
                source,
                to,
                target,
                options,
                legacy_options,
                ..
            } => {
                self.copy(source, *to, target, options, legacy_options)
                    .await
            }
            Statement::CreateRole(create) => {
                super::roles::create(&self.roles, create, &self.actor())?;
                Ok(Outcome::command("CREATE ROLE"))
            }
            Statement::AlterRole { name, operation } => {
                super::roles::alter(&self.roles, name, operation, &self.actor())?;
                Ok(Outcome::command("ALTER ROLE"))
            }
            Statement::Discard { object_type } => {
                if matches!(object_type, ast::DiscardObject::ALL) {
                    *self.settings.lock() = Settings::default();
                    self.cursors.lock().close_all();
                    self.deallocate_all().await?;
                }
                self.forget_plans();
                Ok(Outcome::command(&format!("DISCARD {object_type}")))
            }
            Statement::Reset(reset) => {
                match &reset.reset {
                    ast::Reset::ALL => *self.settings.lock() = Settings::default(),
                    ast::Reset::ConfigurationParameter(name) => {
                        self.settings.lock().reset(&name.to_string())
                    }
                }
                Ok(Outcome::command("RESET"))
            }
            Statement::Declare { stmts } => {
                self.declare(stmts, prepared.cursor_query.as_deref(), params)
                    .await
            }
            Statement::Fetch {
                name, direction, ..
            } => {
                let rows = super::cursors::fetch_count(direction)?;
                let mut cursor = self.cursors.lock().take(&name.value)?;
                let batches = cursor.fetch(rows).await;
                let schema = cursor.schema.clone();
                self.cursors.lock().put_back(name.value.clone(), cursor);
                Ok(Outcome::batches(schema, batches?, "FETCH"))
            }
            Statement::Close {
                cursor: ast::CloseCursor::All,
            } => {
                self.cursors.lock().close_all();
                Ok(Outcome::command("CLOSE CURSOR ALL"))
            }
            Statement::Close {
                cursor: ast::CloseCursor::Specific { name },
            } => {
                self.cursors.lock().close(&name.value)?;
                Ok(Outcome::command("CLOSE CURSOR"))
            }
            // No notifications to stop listening to.
            Statement::UNLISTEN { .. } => Ok(Outcome::command("UNLISTEN")),
            Statement::LISTEN { .. } => Err(Error::Unsupported(
                "LISTEN is not supported: Grizzly sends no notifications".into(),
            )),
            Statement::StartTransaction { .. } => {
                *self.transaction.lock() = Transaction {
                    open: true,
                    writes: 0,
                };
                Ok(Outcome::TransactionStart("BEGIN".into()))
            }
            Statement::Commit { .. } => {
                self.cursors.lock().end_transaction();
                let transaction = std::mem::take(&mut *self.transaction.lock());
                let warning =
                    (!transaction.open).then(|| "there is no transaction in progress".to_string());
                Ok(Outcome::TransactionEnd {
                    tag: "COMMIT".into(),
                    warning,
                })
            }
            Statement::Rollback {
                savepoint: Some(_), ..
            } => Ok(Outcome::command("ROLLBACK")),
            Statement::Rollback { .. } => {
                self.cursors.lock().end_transaction();
                let transaction = std::mem::take(&mut *self.transaction.lock());
                let warning = (transaction.writes > 0).then(|| {
                    format!(
                        "ROLLBACK cannot undo the {} write statement(s) of this transaction: \
                         Grizzly commits each statement when it completes",
                        transaction.writes
                    )
                });
                Ok(Outcome::TransactionEnd {
                    tag: "ROLLBACK".into(),
                    warning,
                })
            }
            Statement::Savepoint { .. } => Ok(Outcome::command("SAVEPOINT")),
            Statement::ReleaseSavepoint { .. } => Ok(Outcome::command("RELEASE")),
            Statement::Set(set) => self.set(set),
            Statement::ShowVariable { variable } => self.show(variable, prepared.output.clone()),
            other => Err(Error::Internal(format!(
                "statement was not prepared: {other}"
            ))),
        }
    }

    /// The columns of open cursor `name`, if there is one.
    pub fn cursor_schema(&self, name: &str) -> Option<SchemaRef> {
        self.cursors.lock().schema(name)
    }

    /// `DECLARE name [BINARY] [NO SCROLL] CURSOR [WITH[OUT] HOLD] FOR query`: starts the
    /// query and keeps its stream for FETCH (see `cursors`).
    async fn declare(
        &self,
        declarations: &[ast::Declare],
        query: Option<&Prepared>,
        params: Vec<ScalarValue>,
    ) -> Result<Outcome> {
        let [declare] = declarations else {
            return Err(Error::Syntax("DECLARE names one cursor".into()));
        };
        let (Some(ast::DeclareType::Cursor), Some(query), [name]) =
            (&declare.declare_type, query, declare.names.as_slice())
        else {
            return Err(Error::Unsupported(format!(
                "only DECLARE … CURSOR FOR a query is supported, not \"{declare}\""
            )));
        };
        if declare.scroll == Some(true) {
            return Err(Error::Unsupported(
                "SCROLL cursors are not supported; declare it NO SCROLL and fetch forward".into(),
            ));
        }
        if declare.binary == Some(true) {
            return Err(Error::Unsupported(
                "BINARY cursors are not supported; fetch in text, or use the extended \
                 protocol's binary results"
                    .into(),
            ));
        }
        let hold = declare.hold == Some(true);
        if !hold && !self.transaction.lock().open {
            return Err(Error::NoActiveTransaction(
                "DECLARE CURSOR can only be used in transaction blocks: run BEGIN first, or \
                 declare it WITH HOLD"
                    .into(),
            ));
        }
        let Outcome::Rows { schema, stream, .. } = Box::pin(self.execute(query, params)).await?
        else {
            return Err(Error::Internal("a cursor's query returned no rows".into()));
        };
        let cursor = super::cursors::Cursor::new(schema, stream, hold);
        self.cursors.lock().open(name.value.clone(), cursor)?;
        Ok(Outcome::command("DECLARE CURSOR"))
    }

    async fn execute_plan(&self, plan: LogicalPlan) -> Result<Outcome> {
        let named = match &plan {
            LogicalPlan::Statement(PlanStatement::Execute(execute)) => Some(&execute.name),
            LogicalPlan::Statement(PlanStatement::Deallocate(deallocate))
                if !deallocate.name.eq_ignore_ascii_case("all") =>
            {
                Some(&deallocate.name)
            }
            _ => None,
        };
        if let Some(name) = named.filter(|name| !self.sql_prepared.lock().contains_key(*name)) {
            return Err(Error::UndefinedPreparedStatement(format!(
                "prepared statement \"{name}\" does not exist"
            )));
        }
        match &plan {
            LogicalPlan::Dml(dml) if matches!(dml.op, WriteOp::Insert(_)) => {
                super::insert_checks::check_insert_types(dml)?;
                let rows = match super::insert_values::constant_rows(dml)? {
                    Some(batch) => {
                        // The rows have the columns of the definition planned with;
                        // `begin` refuses the write if an ALTER has committed since.
                        let target = datafusion::datasource::source_as_provider(&dml.target)?;
                        let def = target
                            .as_ref()
                            .downcast_ref::<GrizzlyTable>()
                            .map(|table| table.def().clone())
                            .ok_or_else(|| {
                                Error::Internal(format!(
                                    "INSERT target {} is not a Grizzly table",
                                    dml.table_name
                                ))
                            })?;
                        let mut writer = TableWriter::begin(self.db.clone(), def).await?;
                        writer.push(batch.columns())?;
                        writer.commit().await?
                    }
                    None => self.run_count(plan).await?,
                };
                self.transaction.lock().writes += 1;
                Ok(Outcome::Command {
                    tag: "INSERT".into(),
                    rows: Some(rows),
                    oid: true,
                })
            }
            LogicalPlan::Dml(dml) => Err(Error::Unsupported(format!(
                "{} is not supported yet; Grizzly supports INSERT and COPY",
                dml.op
            ))),
            LogicalPlan::Ddl(ddl) => {
                self.forget_plans();
                let tag = ddl
                    .name()
                    .to_uppercase()
                    .replace("CREATE MEMORY TABLE", "CREATE TABLE");
                self.ctx.execute_logical_plan(plan).await?.collect().await?;
                Ok(Outcome::command(&tag))
            }
            // EXECUTE of a SQL-prepared statement returns its rows, below.
            LogicalPlan::Statement(statement)
                if !matches!(statement, PlanStatement::Execute(_)) =>
            {
                self.forget_plans();
                let tag = match statement {
                    PlanStatement::Prepare(prepare) => {
                        let output = Arc::new(prepare.input.schema().as_arrow().clone());
                        self.sql_prepared
                            .lock()
                            .insert(prepare.name.clone(), output);
                        "PREPARE"
                    }
                    // Drivers (psycopg) send it after DDL; it also covers the statements
                    // they prepared through the protocol, which pgwire replaces when
                    // they are prepared again under the same name.
                    PlanStatement::Deallocate(deallocate)
                        if deallocate.name.eq_ignore_ascii_case("all") =>
                    {
                        self.deallocate_all().await?;
                        return Ok(Outcome::command("DEALLOCATE ALL"));
                    }
                    PlanStatement::Deallocate(deallocate) => {
                        self.sql_prepared.lock().remove(&deallocate.name);
                        "DEALLOCATE"
                    }
                    _ => "SET",
                };
                self.ctx.execute_logical_plan(plan).await?.collect().await?;
                Ok(Outcome::command(tag))
            }
            _ => {
                let stream = self
                    .ctx
                    .execute_logical_plan(plan)
                    .await?
                    .execute_stream()
                    .await?;
                Ok(Outcome::Rows {
                    schema: stream.schema(),
                    stream,
                    tag: "SELECT",
                })
            }
        }
    }

    /// Runs a DML plan and returns the row count it reports.
    async fn run_count(&self, plan: LogicalPlan) -> Result<u64> {
        let batches = self.ctx.execute_logical_plan(plan).await?.collect().await?;
        let count = batches
            .first()
            .and_then(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<UInt64Array>()
                    .map(|a| a.value(0))
            })
            .unwrap_or(0);
        Ok(count)
    }

    async fn create_table(&self, create: &ast::CreateTable) -> Result<Outcome> {
        let Some(query) = &create.query else {
            self.db
                .create_table(ddl::table_def(create)?, create.if_not_exists)?;
            if ddl::declares_primary_key(create) {
                self.notices.sender().send(ddl::PRIMARY_KEY_NOTICE);
            }
            return Ok(Outcome::command("CREATE TABLE"));
        };
        // CREATE TABLE … AS SELECT: the query's columns become the table's.
        let name = ddl::table_name(&create.name)?;
        let plan = self.plan(&Statement::Query(query.clone())).await?;
        let mut columns = Vec::new();
        for (index, field) in plan.schema().fields().iter().enumerate() {
            columns.push(ColumnDef {
                id: index as u32 + 1,
                name: field.name().clone(),
                column_type: column_type_for(field.data_type())?,
                not_null: false,
                default: None,
                missing: None,
            });
        }
        let next_column_id = columns.len() as u32 + 1;
        let mut def = TableDef {
            id: 0,
            name: name.clone(),
            columns,
            next_column_id,
            retention_micros: None,
            schema_version: 1,
            compression: Default::default(),
            partitioning: None,
            sort_by: Vec::new(),
        };
        if let ast::CreateTableOptions::With(options) = &create.table_options {
            ddl::apply_table_options(options, &mut def)?;
        }
        if !self.db.create_table(def, create.if_not_exists)? {
            return Ok(Outcome::Command {
                tag: "SELECT".into(),
                rows: Some(0),
                oid: false,
            });
        }
        let def = self
            .db
            .table(&name)
            .ok_or_else(|| Error::Internal("created table vanished".into()))?;
        let mut stream = self
            .ctx
            .execute_logical_plan(plan)
            .await?
            .execute_stream()
            .await?;
        let mut writer = TableWriter::begin(self.db.clone(), def.clone()).await?;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            let columns: Vec<_> = def
                .columns
                .iter()
                .zip(batch.columns())
                .map(|(c, a)| datafusion::arrow::compute::cast(a, &c.column_type.to_arrow()))
                .collect::<std::result::Result<_, _>>()?;
            writer.push(&columns)?;
        }
        let rows = writer.commit().await?;
        self.transaction.lock().writes += 1;
        Ok(Outcome::Command {
            tag: "SELECT".into(),
            rows: Some(rows),
            oid: false,
        })
    }

    async fn alter_table(&self, alter: &ast::AlterTable) -> Result<Outcome> {
        let name = ddl::table_name(&alter.name)?;
        let Some(table) = self.db.table(&name) else {
            if alter.if_exists {
                return Ok(Outcome::command("ALTER TABLE"));
            }
            return Err(Error::UndefinedTable(format!(
                "relation \"{name}\" does not exist"
            )));
        };
        // Wait for writes in flight, then read the definition they leave.
        let _lock = self.db.lock_for_alter(table.id).await;
        let table = self
            .db
            .table_by_id(table.id)
            .ok_or_else(|| Error::UndefinedTable(format!("relation \"{name}\" does not exist")))?;
        let (def, checks) = alter::apply(&table, &alter.operations)?;
        for check in &checks {
            self.run_check(&table, check).await?;
        }
        self.db.alter_table(def).await?;
        self.forget_plans();
        Ok(Outcome::command("ALTER TABLE"))
    }

    /// Fails with 23502 if the rows of `table` break `check`.
    async fn run_check(&self, table: &TableDef, check: &alter::Check) -> Result<()> {
        let filter = match check {
            alter::Check::NoNulls { column, .. } => {
                format!(" WHERE {} IS NULL", quote_ident(column))
            }
            alter::Check::Empty { .. } => String::new(),
        };
        let sql = format!("SELECT count(*) FROM {}{filter}", quote_ident(&table.name));
        let batches = self.ctx.sql(&sql).await?.collect().await?;
        let count = batches
            .first()
            .and_then(|b| b.column(0).as_any().downcast_ref::<Int64Array>())
            .map_or(0, |a| a.value(0));
        if count > 0 {
            return Err(Error::NotNullViolation(format!(
                "column \"{}\" of relation \"{}\" contains null values",
                check.column(),
                table.name
            )));
        }
        Ok(())
    }

    async fn copy(
        &self,
        source: &ast::CopySource,
        to: bool,
        target: &ast::CopyTarget,
        options: &[ast::CopyOption],
        legacy_options: &[ast::CopyLegacyOption],
    ) -> Result<Outcome> {
        let format = CopyFormat::from_options(options, legacy_options)?;
        if to {
            return self.copy_out(source, target, format).await;
        }
        let ast::CopySource::Table {
            table_name,
            columns,
        } = source
        else {
            return Err(Error::Syntax(
                "COPY (query) is only for COPY TO; COPY FROM takes a table name".into(),
            ));
        };
        if *target != ast::CopyTarget::Stdin {
            return Err(Error::Unsupported(
                "COPY FROM a server-side file is not supported; send the data with COPY … \
                 FROM STDIN (psql's \\copy does)"
                    .into(),
            ));
        }
        let name = ddl::table_name(table_name)?;
        let def = self
            .db
            .table(&name)
            .ok_or_else(|| Error::UndefinedTable(format!("relation \"{name}\" does not exist")))?;
        let writer = TableWriter::begin(self.db.clone(), def).await?;
        let def = writer.def().clone();
        let defaults = def
            .columns
            .iter()
            .map(default_value)
            .collect::<Result<Vec<_>>>()?;
        let columns = columns.iter().map(ddl::normalize_ident).collect();
        let copy = CopyIn::new(def, columns, format, defaults, writer)?;
        self.transaction.lock().writes += 1;
        Ok(Outcome::CopyIn(Box::new(copy)))
    }

    /// Forgets every statement prepared with SQL `PREPARE`.
    async fn deallocate_all(&self) -> Result<()> {
        let names: Vec<String> = self
            .sql_prepared
            .lock()
            .drain()
            .map(|(name, _)| name)
            .collect();
        for name in names {
            let deallocate = datafusion::logical_expr::Deallocate { name };
            let plan = LogicalPlan::Statement(PlanStatement::Deallocate(deallocate));
            self.ctx.execute_logical_plan(plan).await?;
        }
        Ok(())
    }

    /// `COPY t TO STDOUT` and `COPY (query) TO STDOUT`: the rows of a query, which the
    /// connection sends as COPY data (`wire/copy_out.rs`).
    async fn copy_out(
        &self,
        source: &ast::CopySource,
        target: &ast::CopyTarget,
        format: CopyFormat,
    ) -> Result<Outcome> {
        if *target != ast::CopyTarget::Stdout {
            return Err(Error::Unsupported(
                "COPY TO a server-side file or program is not supported; use COPY … TO \
                 STDOUT (psql's \\copy does)"
                    .into(),
            ));
        }
        let query = match source {
            ast::CopySource::Query(query) => Statement::Query(query.clone()),
            ast::CopySource::Table {
                table_name,
                columns,
            } => {
                let columns = match columns.as_slice() {
                    [] => "*".to_string(),
                    names => names
                        .iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                let mut statements = self.parse(&format!("SELECT {columns} FROM {table_name}"))?;
                statements.remove(0)
            }
        };
        let prepared = self.prepare(query).await?;
        match Box::pin(self.execute(&prepared, Vec::new())).await? {
            Outcome::Rows { schema, stream, .. } => Ok(Outcome::CopyOut {
                schema,
                stream,
                format,
            }),
            _ => Err(Error::Syntax(
                "COPY (query) TO needs a query that returns rows".into(),
            )),
        }
    }

    fn set(&self, set: &ast::Set) -> Result<Outcome> {
        let mut settings = self.settings.lock();
        match set {
            ast::Set::SingleAssignment {
                variable, values, ..
            } => {
                let name = variable.to_string();
                match values.as_slice() {
                    [ast::Expr::Identifier(ident)]
                        if ident.value.eq_ignore_ascii_case("default")
                            && ident.quote_style.is_none() =>
                    {
                        settings.reset(&name)
                    }
                    values => settings.set(
                        &name,
                        values
                            .iter()
                            .map(setting_value)
                            .collect::<Vec<_>>()
                            .join(", "),
                    )?,
                }
            }
            ast::Set::SetTimeZone { value, .. } => {
                settings.set("TimeZone", setting_value(value))?
            }
            ast::Set::SetNames { charset_name, .. } => {
                settings.set("client_encoding", charset_name.value.clone())?
            }
            ast::Set::SetTransaction { .. }
            | ast::Set::SetSessionParam(_)
            | ast::Set::SetRole { .. } => {}
            other => return Err(Error::Unsupported(format!("{other} is not supported"))),
        }
        Ok(Outcome::command("SET"))
    }

    fn show(&self, variable: &[ast::Ident], schema: Option<SchemaRef>) -> Result<Outcome> {
        let settings = self.settings.lock();
        let schema = schema.ok_or_else(|| Error::Internal("SHOW without a schema".into()))?;
        let batch = if name_is_all(variable) {
            let (names, values): (Vec<&str>, Vec<&str>) = settings.all().unzip();
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from(names)),
                    Arc::new(StringArray::from(values)),
                ],
            )?
        } else {
            let name = show_name(variable);
            let (_, value) = settings.get(&name).ok_or_else(|| {
                Error::UndefinedObject(format!("unrecognized configuration parameter \"{name}\""))
            })?;
            RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(StringArray::from(vec![value]))],
            )?
        };
        Ok(Outcome::batches(schema, vec![batch], "SELECT"))
    }
}

fn is_datafusion_setting(set: &ast::Set) -> bool {
    matches!(set, ast::Set::SingleAssignment { variable, .. } if variable.to_string().to_lowercase().starts_with("datafusion."))
}

/// The setting `SHOW` names; PostgreSQL's multi-word spellings are other names for
/// settings.
fn show_name(variable: &[ast::Ident]) -> String {
    let name = variable
        .iter()
        .map(|i| i.value.clone())
        .collect::<Vec<_>>()
        .join(" ");
    match name.to_ascii_lowercase().as_str() {
        "transaction isolation level" => "transaction_isolation".into(),
        "time zone" => "TimeZone".into(),
        "session authorization" => "session_authorization".into(),
        _ => name,
    }
}

fn name_is_all(variable: &[ast::Ident]) -> bool {
    matches!(variable, [one] if one.value.eq_ignore_ascii_case("all"))
}

fn show_schema(column: &str, all: bool) -> SchemaRef {
    if all {
        Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, false),
            Field::new("setting", DataType::Utf8, false),
        ]))
    } else {
        Arc::new(Schema::new(vec![Field::new(
            column.to_lowercase(),
            DataType::Utf8,
            false,
        )]))
    }
}

fn setting_value(expr: &ast::Expr) -> String {
    match expr {
        ast::Expr::Value(value) => match &value.value {
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        ast::Expr::Identifier(ident) => ident.value.clone(),
        other => other.to_string(),
    }
}

fn returns_rows(plan: &LogicalPlan) -> bool {
    !matches!(
        plan,
        LogicalPlan::Dml(_) | LogicalPlan::Ddl(_) | LogicalPlan::Statement(_)
    )
}

/// The plan cache's key: the text and the parameter types Parse named.
fn plan_key(sql: &str, types: &[Option<&str>]) -> String {
    let mut key = sql.to_string();
    for t in types {
        key.push('\0');
        key.push_str(t.unwrap_or(""));
    }
    key
}

/// Whether DataFusion gave a parameter a type (a `Null` type is none).
fn has_type(field: Option<&Option<FieldRef>>) -> bool {
    matches!(field, Some(Some(f)) if !f.data_type().is_null())
}

/// Parameter types by position, from DataFusion's inference (`$1` is index 0).
fn param_fields(plan: &LogicalPlan) -> Result<Vec<Option<FieldRef>>> {
    if matches!(plan, LogicalPlan::Statement(PlanStatement::Prepare(_))) {
        return Ok(Vec::new()); // `PREPARE p AS … $1`: the $1 is the prepared query's
    }
    let inferred = plan.get_parameter_fields()?;
    let mut types = Vec::new();
    for (name, data_type) in inferred {
        let Some(index) = name.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) else {
            return Err(Error::Unsupported(format!(
                "named parameter {name} is not supported; use $1, $2, ..."
            )));
        };
        if index == 0 {
            return Err(Error::InvalidInput("there is no parameter $0".into()));
        }
        if types.len() < index {
            types.resize(index, None);
        }
        types[index - 1] = data_type;
    }
    // `$1::smallint`: DataFusion infers no type for a parameter it only casts, but the
    // cast says what the client should send (asyncpg encodes by the described type).
    for (index, data_type) in cast_parameters(plan)? {
        if let Some(slot @ None) = types.get_mut(index) {
            *slot = Some(Arc::new(Field::new(
                format!("${}", index + 1),
                data_type,
                true,
            )));
        }
    }
    Ok(types)
}

/// (parameter index, type) of every parameter cast to a type, in plan order.
fn cast_parameters(plan: &LogicalPlan) -> Result<Vec<(usize, DataType)>> {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::logical_expr::{Cast, Expr, TryCast};
    let mut found = Vec::new();
    plan.apply_with_subqueries(|node| {
        node.apply_expressions(|expr| {
            expr.apply(|e| {
                let (inner, data_type) = match e {
                    Expr::Cast(Cast { expr, field }) => (expr, field.data_type()),
                    Expr::TryCast(TryCast { expr, field }) => (expr, field.data_type()),
                    _ => return Ok(TreeNodeRecursion::Continue),
                };
                if let Expr::Placeholder(placeholder) = inner.as_ref() {
                    let index = placeholder
                        .id
                        .strip_prefix('$')
                        .and_then(|n| n.parse::<usize>().ok());
                    if let Some(index) = index.filter(|i| *i > 0) {
                        found.push((index - 1, data_type.clone()));
                    }
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    })?;
    Ok(found)
}

/// The column type CREATE TABLE AS gives a query column of this Arrow type.
pub(super) fn column_type_for(data_type: &DataType) -> Result<ColumnType> {
    use DataType::*;
    Ok(match data_type {
        Int8 | Int16 | UInt8 => ColumnType::SmallInt,
        Int32 | UInt16 => ColumnType::Integer,
        Int64 | UInt32 | UInt64 => ColumnType::BigInt,
        Float16 | Float32 => ColumnType::Real,
        Float64 => ColumnType::Double,
        Decimal128(p, s) if *s >= 0 => ColumnType::Numeric {
            precision: *p,
            scale: *s,
        },
        Utf8 | LargeUtf8 | Utf8View | Null => ColumnType::Text,
        Boolean => ColumnType::Boolean,
        Date32 | Date64 => ColumnType::Date,
        Timestamp(_, None) => ColumnType::Timestamp,
        Timestamp(_, Some(_)) => ColumnType::TimestampTz,
        Binary | LargeBinary | BinaryView => ColumnType::Bytea,
        other => {
            return Err(Error::Unsupported(format!(
                "cannot store a column of type {other} yet"
            )))
        }
    })
}

/// Evaluates a column's DEFAULT (or NULL) once, as a value of the column's type.
fn default_value(column: &ColumnDef) -> Result<ScalarValue> {
    let target = column.column_type.to_arrow();
    let Some(sql) = &column.default else {
        return Ok(ScalarValue::try_from(&target)?);
    };
    let expr = ddl::parse_default(sql)?;
    let schema = DFSchema::empty();
    let physical = datafusion::physical_expr::create_physical_expr(
        &expr,
        &schema,
        &datafusion::execution::context::ExecutionProps::new(),
        &Default::default(),
    )?;
    let batch = RecordBatch::new_empty(Arc::new(Schema::empty()));
    let batch = RecordBatch::try_new_with_options(
        batch.schema(),
        vec![],
        &datafusion::arrow::array::RecordBatchOptions::new().with_row_count(Some(1)),
    )?;
    let value = physical.evaluate(&batch)?.to_array(1)?;
    let value = datafusion::arrow::compute::cast(&value, &target)?;
    Ok(ScalarValue::try_from_array(&value, 0)?)
}

/// Names of the CTEs a statement defines, which are not tables.
/// Names of the tables `statement` reads in their present state: not table functions
/// (`grizzly_history('t')`), not tables read AS OF a time (which may be dropped now;
/// their planner reports their own errors), but INSERT and COPY targets too.
fn present_table_references(statement: &Statement) -> Vec<ast::ObjectName> {
    struct Tables(Vec<ast::ObjectName>, Vec<ast::ObjectName>);
    impl ast::Visitor for Tables {
        type Break = ();
        fn pre_visit_table_factor(
            &mut self,
            factor: &ast::TableFactor,
        ) -> std::ops::ControlFlow<()> {
            if let ast::TableFactor::Table {
                name,
                args,
                version,
                ..
            } = factor
            {
                if args.is_some() || version.is_some() {
                    self.1.push(name.clone());
                }
            }
            std::ops::ControlFlow::Continue(())
        }
        fn pre_visit_relation(&mut self, relation: &ast::ObjectName) -> std::ops::ControlFlow<()> {
            self.0.push(relation.clone());
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut tables = Tables(Vec::new(), Vec::new());
    let _ = ast::Visit::visit(statement, &mut tables);
    // A relation visited as a function or versioned table factor is left out once per
    // such occurrence.
    let mut names = tables.0;
    for special in tables.1 {
        if let Some(i) = names.iter().position(|n| *n == special) {
            names.remove(i);
        }
    }
    names
}

fn collect_cte_names(statement: &Statement, names: &mut Vec<String>) {
    fn visit_query(query: &ast::Query, names: &mut Vec<String>) {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                names.push(ddl::normalize_ident(&cte.alias.name));
                visit_query(&cte.query, names);
            }
        }
    }
    match statement {
        Statement::Query(query) => visit_query(query, names),
        Statement::Insert(insert) => {
            if let Some(source) = &insert.source {
                visit_query(source, names)
            }
        }
        _ => {}
    }
}

/// `name` as a double-quoted SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
