-- Replayable catalog queries; see README.md in this directory.
-- Target objects: database grizzly, schema public (oid 2200 on both servers), table
--   CREATE TABLE bi_orders (id bigint NOT NULL, customer varchar(20), amount numeric(10,2) DEFAULT 0, placed date, at timestamptz);
-- A bind parameter that was a table OID is written as the scalar subquery
--   (SELECT oid FROM pg_catalog.pg_class WHERE relname = 'bi_orders' AND relnamespace = 2200)
-- so the file runs unchanged on any server. Each query: one '-- <tool>: ...' line, then the SQL, ending in ';'.

-- Tableau's built-in PostgreSQL connector has used pgjdbc since 2020.4 (the RisingWave capture of Tableau 2023.2
-- shows pgjdbc's own error texts); before that, and for ODBC-based connections, it went through psqlODBC. Tableau
-- itself sends little catalog SQL of its own: it calls the driver's metadata API, so the queries below are the
-- driver's SQL for the calls Tableau makes (catalogs, schemas, tables of a schema, columns of a table, primary keys).

-- tableau: JDBC connector (Tableau 2020.4+ PostgreSQL connector runs on pgjdbc): pgjdbc connection set-up (source: https://github.com/risingwavelabs/risingwave/issues/10459 (Tableau 2023.2 log, pgjdbc errors); tableau/connector-plugin-sdk samples/plugins/postgres_jdbc/manifest.xml)
SET extra_float_digits = 3;

-- tableau: JDBC: list databases (pgjdbc DatabaseMetaData.getCatalogs) (source: pgjdbc/pgjdbc pgjdbc/src/main/java/org/postgresql/jdbc/PgDatabaseMetaData.java getCatalogs)
SELECT datname AS "TABLE_CAT" FROM pg_catalog.pg_database WHERE datallowconn = true ORDER BY datname;

-- tableau: JDBC: list schemas (pgjdbc DatabaseMetaData.getSchemas(null, null)) (source: pgjdbc/pgjdbc pgjdbc/src/main/java/org/postgresql/jdbc/PgDatabaseMetaData.java getSchemas)
SELECT nspname AS "TABLE_SCHEM", current_database() AS "TABLE_CATALOG" FROM pg_catalog.pg_namespace  WHERE nspname <> 'pg_toast' AND (nspname !~ '^pg_temp_'  OR nspname = (pg_catalog.current_schemas(true))[1]) AND (nspname !~ '^pg_toast_temp_'  OR nspname = replace((pg_catalog.current_schemas(true))[1], 'pg_temp_', 'pg_toast_temp_'))  ORDER BY "TABLE_SCHEM";

-- tableau: JDBC: list tables of schema public (pgjdbc DatabaseMetaData.getTables(null, 'public', '%', null)) (source: pgjdbc/pgjdbc pgjdbc/src/main/java/org/postgresql/jdbc/PgDatabaseMetaData.java getTables)
SELECT current_database() AS "TABLE_CAT", n.nspname AS "TABLE_SCHEM", c.relname AS "TABLE_NAME",  CASE n.nspname ~ '^pg_' OR n.nspname = 'information_schema'  WHEN true THEN CASE  WHEN n.nspname = 'pg_catalog' OR n.nspname = 'information_schema' THEN CASE c.relkind   WHEN 'r' THEN 'SYSTEM TABLE'   WHEN 'v' THEN 'SYSTEM VIEW'   WHEN 'i' THEN 'SYSTEM INDEX'   ELSE NULL   END  WHEN n.nspname = 'pg_toast' THEN CASE c.relkind   WHEN 'r' THEN 'SYSTEM TOAST TABLE'   WHEN 'i' THEN 'SYSTEM TOAST INDEX'   ELSE NULL   END  ELSE CASE c.relkind   WHEN 'r' THEN 'TEMPORARY TABLE'   WHEN 'p' THEN 'TEMPORARY TABLE'   WHEN 'i' THEN 'TEMPORARY INDEX'   WHEN 'S' THEN 'TEMPORARY SEQUENCE'   WHEN 'v' THEN 'TEMPORARY VIEW'   ELSE NULL   END  END  WHEN false THEN CASE c.relkind  WHEN 'r' THEN 'TABLE'  WHEN 'p' THEN 'PARTITIONED TABLE'  WHEN 'i' THEN 'INDEX'  WHEN 'P' then 'PARTITIONED INDEX'  WHEN 'S' THEN 'SEQUENCE'  WHEN 'v' THEN 'VIEW'  WHEN 'c' THEN 'TYPE'  WHEN 'f' THEN 'FOREIGN TABLE'  WHEN 'm' THEN 'MATERIALIZED VIEW'  ELSE NULL  END  ELSE NULL  END  AS "TABLE_TYPE", d.description AS "REMARKS",  '' as "TYPE_CAT", '' as "TYPE_SCHEM", '' as "TYPE_NAME", '' AS "SELF_REFERENCING_COL_NAME", '' AS "REF_GENERATION"  FROM pg_catalog.pg_namespace n, pg_catalog.pg_class c  LEFT JOIN pg_catalog.pg_description d ON (c.oid = d.objoid AND d.objsubid = 0  and d.classoid = 'pg_class'::regclass)  WHERE c.relnamespace = n.oid  AND n.nspname LIKE 'public' AND c.relname LIKE '%' ORDER BY "TABLE_TYPE","TABLE_SCHEM","TABLE_NAME";

-- tableau: JDBC: column metadata of a dragged-in table, row-limited metadata query (CAP_QUERY_WHERE_FALSE_METADATA=yes in the postgres_jdbc connector; query form from the SDK metadata-enumeration docs) (source: https://tableau.github.io/connector-plugin-sdk/docs/metadata-enumeration; tableau/connector-plugin-sdk samples/plugins/postgres_jdbc/manifest.xml)
SELECT * FROM "public"."bi_orders" WHERE 1=0;

-- tableau: JDBC: columns of bi_orders when the SQLColumns-style path is used (pgjdbc DatabaseMetaData.getColumns(null, 'public', 'bi_orders', '%')) (source: pgjdbc/pgjdbc pgjdbc/src/main/java/org/postgresql/jdbc/PgDatabaseMetaData.java getColumns)
SELECT * FROM (SELECT current_database() AS current_database, n.nspname,c.relname,a.attname,a.atttypid,a.attnotnull  OR (t.typtype = 'd' AND t.typnotnull) AS attnotnull,a.atttypmod,a.attlen,t.typtypmod,row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS attnum, nullif(a.attidentity, '') as attidentity,nullif(a.attgenerated, '') as attgenerated,pg_catalog.pg_get_expr(def.adbin, def.adrelid) AS adsrc,dsc.description,t.typbasetype,t.typtype  FROM pg_catalog.pg_namespace n  JOIN pg_catalog.pg_class c ON (c.relnamespace = n.oid)  JOIN pg_catalog.pg_attribute a ON (a.attrelid=c.oid)  JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid)  LEFT JOIN pg_catalog.pg_attrdef def ON (a.attrelid=def.adrelid AND a.attnum = def.adnum)  LEFT JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)  LEFT JOIN pg_catalog.pg_class dc ON (dc.oid=dsc.classoid AND dc.relname='pg_class')  LEFT JOIN pg_catalog.pg_namespace dn ON (dc.relnamespace=dn.oid AND dn.nspname='pg_catalog')  WHERE c.relkind in ('r','p','v','f','m') and a.attnum > 0 AND NOT a.attisdropped  AND n.nspname LIKE 'public' AND c.relname LIKE 'bi_orders') c WHERE true  AND attname LIKE '%' ORDER BY nspname,c.relname,attnum;

-- tableau: ODBC connector (Tableau through psqlODBC, the pre-2020.4 built-in driver): DateStyle check at connect (source: postgresql-interfaces/psqlodbc connection.c)
SHOW DateStyle;

-- tableau: ODBC: isolation level at connect (source: postgresql-interfaces/psqlodbc connection.c)
show transaction_isolation;

-- tableau: ODBC: large-object type lookup at connect (source: postgresql-interfaces/psqlodbc connection.c)
select oid, typbasetype from pg_type where typname = 'lo';

-- tableau: ODBC: identifier length (SQLGetInfo) (source: postgresql-interfaces/psqlodbc connection.c)
show max_identifier_length;

-- tableau: ODBC: collation probe Tableau sends at connect (source: https://github.com/treasure-data/prestogres/issues/29 (Tableau 8.3/9.0 log))
show "lc_collate";

-- tableau: ODBC: list schemas (SQLTables with SQL_ALL_SCHEMAS) (source: postgresql-interfaces/psqlodbc info.c PGAPI_Tables)
select NULL, nspname, NULL from pg_catalog.pg_namespace n where true and nspname not in ('pg_catalog', 'information_schema', 'pg_toast', 'pg_temp_1') order by nspname;

-- tableau: ODBC: list all tables (SQLTables(NULL, NULL, NULL, NULL)), verbatim capture (source: postgresql-interfaces/psqlodbc info.c PGAPI_Tables; GigaSpaces OdbcMetadataQueryTest capture of psqlODBC metadata queries (older psqlODBC text))
select relname, nspname, relkind from pg_catalog.pg_class c, pg_catalog.pg_namespace n where relkind in ('r', 'v', 'm', 'f', 'p') and nspname not in ('pg_catalog', 'information_schema', 'pg_toast', 'pg_temp_1') and n.oid = relnamespace order by nspname, relname;

-- tableau: ODBC: list tables of schema public (SQLTables(NULL, 'public', NULL, NULL)) (source: postgresql-interfaces/psqlodbc info.c PGAPI_Tables)
select relname, nspname, relkind from pg_catalog.pg_class c, pg_catalog.pg_namespace n where relkind in ('r', 'v', 'm', 'f', 'p') and nspname like 'public' and nspname not in ('pg_catalog', 'information_schema', 'pg_toast', 'pg_temp_1') and n.oid = relnamespace order by nspname, relname;

-- tableau: ODBC: columns of bi_orders (SQLColumns(NULL, 'public', 'bi\_orders', NULL), current psqlODBC text) (source: postgresql-interfaces/psqlodbc info.c PGAPI_Columns)
select n.nspname, c.relname, a.attname, a.atttypid, t.typname, a.attnum, a.attlen, a.atttypmod, a.attnotnull, c.relhasrules, c.relkind, c.oid, pg_get_expr(d.adbin, d.adrelid), case t.typtype when 'd' then t.typbasetype else 0 end, t.typtypmod, 0, attidentity, c.relhassubclass from (((pg_catalog.pg_class c inner join pg_catalog.pg_namespace n on n.oid = c.relnamespace and c.relname like 'bi\_orders' and n.nspname like 'public') inner join pg_catalog.pg_attribute a on (not a.attisdropped) and a.attnum operator(pg_catalog.>) 0 and a.attrelid operator(pg_catalog.=) c.oid) inner join pg_catalog.pg_type t on t.oid operator(pg_catalog.=) a.atttypid) left outer join pg_attrdef d on a.atthasdef and d.adrelid operator(pg_catalog.=) a.attrelid and d.adnum operator(pg_catalog.=) a.attnum order by n.nspname, c.relname, attnum;

-- tableau: ODBC: columns of bi_orders (SQLColumns, older psqlODBC text as captured) (source: GigaSpaces OdbcMetadataQueryTest capture of psqlODBC metadata queries (older psqlODBC text))
select n.nspname, c.relname, a.attname, a.atttypid, t.typname, a.attnum, a.attlen, a.atttypmod, a.attnotnull, c.relhasrules, c.relkind, c.oid, pg_get_expr(d.adbin, d.adrelid), case t.typtype when 'd' then t.typbasetype else 0 end, t.typtypmod, 0, attidentity, c.relhassubclass from (((pg_catalog.pg_class c inner join pg_catalog.pg_namespace n on n.oid = c.relnamespace and c.relname like 'bi\_orders' and n.nspname like 'public') inner join pg_catalog.pg_attribute a on (not a.attisdropped) and a.attnum > 0 and a.attrelid = c.oid) inner join pg_catalog.pg_type t on t.oid = a.atttypid) left outer join pg_attrdef d on a.atthasdef and d.adrelid = a.attrelid and d.adnum = a.attnum order by n.nspname, c.relname, attnum;

-- tableau: ODBC: primary key of bi_orders (SQLPrimaryKeys(NULL, 'public', 'bi_orders')) (source: postgresql-interfaces/psqlodbc info.c PGAPI_PrimaryKeys)
select ta.attname, ia.attnum, ic.relname, n.nspname, tc.relname from pg_catalog.pg_attribute ta, pg_catalog.pg_attribute ia, pg_catalog.pg_class tc, pg_catalog.pg_index i, pg_catalog.pg_namespace n, pg_catalog.pg_class ic where tc.relname operator(pg_catalog.=) 'bi_orders' AND n.nspname operator(pg_catalog.=) 'public' AND tc.oid operator(pg_catalog.=) i.indrelid AND n.oid operator(pg_catalog.=) tc.relnamespace AND i.indisprimary operator(pg_catalog.=) 't' AND ia.attrelid operator(pg_catalog.=) i.indexrelid AND ta.attrelid operator(pg_catalog.=) i.indrelid AND ta.attnum operator(pg_catalog.=) i.indkey[ia.attnum-1] AND (NOT ta.attisdropped) AND (NOT ia.attisdropped) AND ic.oid operator(pg_catalog.=) i.indexrelid AND ia.attnum operator(pg_catalog.<=) i.indnkeyatts order by ia.attnum;
