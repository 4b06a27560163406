-- Replayable catalog queries; see README.md in this directory.
-- Target objects: database grizzly, schema public (oid 2200 on both servers), table
--   CREATE TABLE bi_orders (id bigint NOT NULL, customer varchar(20), amount numeric(10,2) DEFAULT 0, placed date, at timestamptz);
-- A bind parameter that was a table OID is written as the scalar subquery
--   (SELECT oid FROM pg_catalog.pg_class WHERE relname = 'bi_orders' AND relnamespace = 2200)
-- so the file runs unchanged on any server. Each query: one '-- <tool>: ...' line, then the SQL, ending in ';'.

-- grafana: server version (getVersion, config page feature detection) (source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts)
SELECT current_setting('server_version_num')::int/100 as version;

-- grafana: TimescaleDB version (getTimescaleDBVersion) (source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts)
SELECT extversion FROM pg_extension WHERE extname = 'timescaledb';

-- grafana: list schemas (showSchemas, query builder dataset picker) (source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts)
SELECT schema_name AS "name"
    FROM information_schema.schemata
    WHERE schema_name NOT IN ('information_schema',
                              'pg_catalog',
                              'pg_toast',
                              '_timescaledb_cache',
                              '_timescaledb_catalog',
                              '_timescaledb_internal',
                              '_timescaledb_config',
                              'timescaledb_information',
                              'timescaledb_experimental')
    ORDER BY schema_name;

-- grafana: list tables of schema public (showTables('public')) (source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts)
SELECT quote_ident(table_name) AS "table"
      FROM information_schema.tables
      WHERE quote_ident(table_schema) = 'public'
      ORDER BY 1;

-- grafana: list tables on the search path, others schema-qualified (showTables(), query builder + code-editor completion) (source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts)
SELECT
    CASE WHEN 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      THEN quote_ident(table_name)
      ELSE quote_ident(table_schema) || '.' || quote_ident(table_name)
    END AS "table"
    FROM information_schema.tables
    WHERE quote_ident(table_schema) NOT IN ('information_schema',
                             'pg_catalog',
                             '_timescaledb_cache',
                             '_timescaledb_catalog',
                             '_timescaledb_internal',
                             '_timescaledb_config',
                             'timescaledb_information',
                             'timescaledb_experimental')
    ORDER BY CASE WHEN 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          ) THEN 0 ELSE 1 END, 1;

-- grafana: columns of bi_orders picked without schema (getSchema('bi_orders')) (source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts)
SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('bi_orders'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('bi_orders'))[1]
          AND quote_ident(table_name) = (parse_ident('bi_orders'))[2]
        ELSE quote_ident(table_name) = 'bi_orders'
          AND 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      END;

-- grafana: columns of bi_orders picked as public.bi_orders (getSchema('public.bi_orders')) (source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts)
SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('public.bi_orders'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('public.bi_orders'))[1]
          AND quote_ident(table_name) = (parse_ident('public.bi_orders'))[2]
        ELSE quote_ident(table_name) = 'public.bi_orders'
          AND 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      END;

-- grafana: list schemas (backend schema handler querySchemas) (source: grafana/grafana pkg/tsdb/grafana-postgresql-datasource/schema.go)
SELECT schema_name FROM information_schema.schemata
		 WHERE schema_name NOT LIKE 'pg_%' AND schema_name != 'information_schema'
		 ORDER BY schema_name;

-- grafana: list tables of schema public (backend schema handler queryTables; $1 = 'public') (source: grafana/grafana pkg/tsdb/grafana-postgresql-datasource/schema.go)
SELECT table_name FROM information_schema.tables
		 WHERE table_schema = 'public' AND table_type IN ('BASE TABLE', 'VIEW')
		 ORDER BY table_name;

-- grafana: columns of bi_orders (backend schema handler queryColumns; $1 = 'public', $2 = 'bi_orders') (source: grafana/grafana pkg/tsdb/grafana-postgresql-datasource/schema.go)
SELECT column_name, data_type, udt_name, numeric_precision, numeric_scale
		 FROM information_schema.columns
		 WHERE table_schema = 'public' AND table_name = 'bi_orders'
		 ORDER BY ordinal_position;
