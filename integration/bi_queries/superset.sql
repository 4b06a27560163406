-- Replayable catalog queries; see README.md in this directory.
-- Target objects: database grizzly, schema public (oid 2200 on both servers), table
--   CREATE TABLE bi_orders (id bigint NOT NULL, customer varchar(20), amount numeric(10,2) DEFAULT 0, placed date, at timestamptz);
-- A bind parameter that was a table OID is written as the scalar subquery
--   (SELECT oid FROM pg_catalog.pg_class WHERE relname = 'bi_orders' AND relnamespace = 2200)
-- so the file runs unchanged on any server. Each query: one '-- <tool>: ...' line, then the SQL, ending in ';'.

-- Superset pins SQLAlchemy <2 in its releases up to 5.x (1.4.54 queries below come first);
-- SQLAlchemy 2.x builds the same inspector queries with Core expressions (2.1.9 queries follow).
-- Superset calls: get_schema_names, get_table_names + get_foreign_table_names (PostgresEngineSpec.get_table_names),
-- get_view_names, get_columns, get_pk_constraint, get_foreign_keys, get_indexes, get_unique_constraints,
-- get_table_comment, has_table.

-- superset: list databases (PostgresEngineSpec.get_catalog_names) (source: apache/superset superset/db_engine_specs/postgres.py)
SELECT datname FROM pg_database
WHERE datistemplate = false;

-- superset: SQLAlchemy 1.4.54 dialect initialize on first connect (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 1.4.54, captured with psycopg2 from a real PostgreSQL 15)
select pg_catalog.version();

-- superset: SQLAlchemy 1.4.54 dialect initialize on first connect (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 1.4.54, captured with psycopg2 from a real PostgreSQL 15)
select current_schema();

-- superset: SQLAlchemy 1.4.54 dialect initialize on first connect (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 1.4.54, captured with psycopg2 from a real PostgreSQL 15)
show transaction isolation level;

-- superset: SQLAlchemy 1.4.54 dialect initialize on first connect (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 1.4.54, captured with psycopg2 from a real PostgreSQL 15)
show standard_conforming_strings;

-- superset: SQLAlchemy 1.4.54 inspector get_schema_names (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 1.4.54, captured with psycopg2 from a real PostgreSQL 15)
SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_%' ORDER BY nspname;

-- superset: SQLAlchemy 1.4.54 inspector has_table(bi_orders, schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 1.4.54, captured with psycopg2 from a real PostgreSQL 15)
select relname from pg_class c join pg_namespace n on n.oid=c.relnamespace where n.nspname='public' and relname='bi_orders';

-- superset: SQLAlchemy 1.4.54 inspector get_table_names(schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 1.4.54, captured with psycopg2 from a real PostgreSQL 15)
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind in ('r', 'p');

-- superset: SQLAlchemy 1.4.54 inspector get_foreign_table_names(schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 1.4.54, captured with psycopg2 from a real PostgreSQL 15)
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'f';

-- superset: SQLAlchemy 1.4.54 inspector get_view_names(schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 1.4.54, captured with psycopg2 from a real PostgreSQL 15)
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm');

-- superset: SQLAlchemy 1.4.54 inspector get_columns(bi_orders, schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 1.4.54, captured with psycopg2 from a real PostgreSQL 15)
SELECT c.oid
FROM pg_catalog.pg_class c
LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE (n.nspname = 'public')
AND c.relname = 'bi_orders' AND c.relkind in
('r', 'v', 'm', 'f', 'p');

-- superset: SQLAlchemy 1.4.54 inspector get_columns(bi_orders, schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 1.4.54, captured with psycopg2 from a real PostgreSQL 15)
SELECT a.attname,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  (
    SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid)
    FROM pg_catalog.pg_attrdef d
    WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum
    AND a.atthasdef
  ) AS DEFAULT,
  a.attnotnull,
  a.attrelid as table_oid,
  pgd.description as comment,
  a.attgenerated as generated,
                  (SELECT json_build_object(
        'always', a.attidentity = 'a',
        'start', s.seqstart,
        'increment', s.seqincrement,
        'minvalue', s.seqmin,
        'maxvalue', s.seqmax,
        'cache', s.seqcache,
        'cycle', s.seqcycle)
    FROM pg_catalog.pg_sequence s
    JOIN pg_catalog.pg_class c on s.seqrelid = c."oid"
    WHERE c.relkind = 'S'
    AND a.attidentity != ''
    AND s.seqrelid = pg_catalog.pg_get_serial_sequence(
        a.attrelid::regclass::text, a.attname
    )::regclass::oid
    ) as identity_options                
FROM pg_catalog.pg_attribute a
LEFT JOIN pg_catalog.pg_description pgd ON (
    pgd.objoid = a.attrelid AND pgd.objsubid = a.attnum)
WHERE a.attrelid = (SELECT oid FROM pg_catalog.pg_class WHERE relname = 'bi_orders' AND relnamespace = 2200)
AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;

-- superset: SQLAlchemy 1.4.54 inspector get_columns(bi_orders, schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 1.4.54, captured with psycopg2 from a real PostgreSQL 15)
SELECT t.typname as "name",
   pg_catalog.format_type(t.typbasetype, t.typtypmod) as "attype",
   not t.typnotnull as "nullable",
   t.typdefault as "default",
   pg_catalog.pg_type_is_visible(t.oid) as "visible",
   n.nspname as "schema"
FROM pg_catalog.pg_type t
   LEFT JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'd';

-- superset: SQLAlchemy 1.4.54 inspector get_columns(bi_orders, schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 1.4.54, captured with psycopg2 from a real PostgreSQL 15)
SELECT t.typname as "name",
       -- no enum defaults in 8.4 at least
       -- t.typdefault as "default",
       pg_catalog.pg_type_is_visible(t.oid) as "visible",
       n.nspname as "schema",
       e.enumlabel as "label"
    FROM pg_catalog.pg_type t
         LEFT JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
         LEFT JOIN pg_catalog.pg_enum e ON t.oid = e.enumtypid
    WHERE t.typtype = 'e'
ORDER BY "schema", "name", e.oid;

-- superset: SQLAlchemy 1.4.54 inspector get_pk_constraint(bi_orders, schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 1.4.54, captured with psycopg2 from a real PostgreSQL 15)
SELECT a.attname
FROM pg_attribute a JOIN (
    SELECT unnest(ix.indkey) attnum,
           generate_subscripts(ix.indkey, 1) ord
    FROM pg_index ix
    WHERE ix.indrelid = (SELECT oid FROM pg_catalog.pg_class WHERE relname = 'bi_orders' AND relnamespace = 2200) AND ix.indisprimary
    ) k ON a.attnum=k.attnum
WHERE a.attrelid = (SELECT oid FROM pg_catalog.pg_class WHERE relname = 'bi_orders' AND relnamespace = 2200)
ORDER BY k.ord;

-- superset: SQLAlchemy 1.4.54 inspector get_pk_constraint(bi_orders, schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 1.4.54, captured with psycopg2 from a real PostgreSQL 15)
SELECT conname
   FROM  pg_catalog.pg_constraint r
   WHERE r.conrelid = (SELECT oid FROM pg_catalog.pg_class WHERE relname = 'bi_orders' AND relnamespace = 2200) AND r.contype = 'p'
   ORDER BY 1;

-- superset: SQLAlchemy 1.4.54 inspector get_foreign_keys(bi_orders, schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 1.4.54, captured with psycopg2 from a real PostgreSQL 15)
SELECT r.conname,
      pg_catalog.pg_get_constraintdef(r.oid, true) as condef,
      n.nspname as conschema
FROM  pg_catalog.pg_constraint r,
      pg_namespace n,
      pg_class c

WHERE r.conrelid = (SELECT oid FROM pg_catalog.pg_class WHERE relname = 'bi_orders' AND relnamespace = 2200) AND
      r.contype = 'f' AND
      c.oid = confrelid AND
      n.oid = c.relnamespace
ORDER BY 1;

-- superset: SQLAlchemy 1.4.54 inspector get_indexes(bi_orders, schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 1.4.54, captured with psycopg2 from a real PostgreSQL 15)
SELECT
    i.relname as relname,
    ix.indisunique, ix.indexprs,
    a.attname, a.attnum, c.conrelid, ix.indkey::varchar,
    ix.indoption::varchar, i.reloptions, am.amname,
    pg_get_expr(ix.indpred, ix.indrelid),
    ix.indnkeyatts as indnkeyatts
FROM
    pg_class t
          join pg_index ix on t.oid = ix.indrelid
          join pg_class i on i.oid = ix.indexrelid
          left outer join
              pg_attribute a
              on t.oid = a.attrelid and a.attnum = ANY(ix.indkey)
          left outer join
              pg_constraint c
              on (ix.indrelid = c.conrelid and
                  ix.indexrelid = c.conindid and
                  c.contype in ('p', 'u', 'x'))
          left outer join
              pg_am am
              on i.relam = am.oid
WHERE
    t.relkind IN ('r', 'v', 'f', 'm', 'p')
    and t.oid = (SELECT oid FROM pg_catalog.pg_class WHERE relname = 'bi_orders' AND relnamespace = 2200)
    and ix.indisprimary = 'f'
ORDER BY
    t.relname,
    i.relname;

-- superset: SQLAlchemy 1.4.54 inspector get_unique_constraints(bi_orders, schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 1.4.54, captured with psycopg2 from a real PostgreSQL 15)
SELECT
    cons.conname as name,
    cons.conkey as key,
    a.attnum as col_num,
    a.attname as col_name
FROM
    pg_catalog.pg_constraint cons
    join pg_attribute a
      on cons.conrelid = a.attrelid AND
        a.attnum = ANY(cons.conkey)
WHERE
    cons.conrelid = (SELECT oid FROM pg_catalog.pg_class WHERE relname = 'bi_orders' AND relnamespace = 2200) AND
    cons.contype = 'u';

-- superset: SQLAlchemy 1.4.54 inspector get_table_comment(bi_orders, schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 1.4.54, captured with psycopg2 from a real PostgreSQL 15)
SELECT
    pgd.description as table_comment
FROM
    pg_catalog.pg_description pgd
WHERE
    pgd.objsubid = 0 AND
    pgd.objoid = (SELECT oid FROM pg_catalog.pg_class WHERE relname = 'bi_orders' AND relnamespace = 2200);

-- superset: SQLAlchemy 2.1.9 dialect initialize on first connect (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 2.1.9, captured with psycopg2 from a real PostgreSQL 15)
select pg_catalog.version();

-- superset: SQLAlchemy 2.1.9 dialect initialize on first connect (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 2.1.9, captured with psycopg2 from a real PostgreSQL 15)
select current_schema();

-- superset: SQLAlchemy 2.1.9 dialect initialize on first connect (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 2.1.9, captured with psycopg2 from a real PostgreSQL 15)
show transaction isolation level;

-- superset: SQLAlchemy 2.1.9 dialect initialize on first connect (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 2.1.9, captured with psycopg2 from a real PostgreSQL 15)
show standard_conforming_strings;

-- superset: SQLAlchemy 2.1.9 inspector get_schema_names (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 2.1.9, captured with psycopg2 from a real PostgreSQL 15)
SELECT pg_catalog.pg_namespace.nspname 
FROM pg_catalog.pg_namespace 
WHERE (pg_catalog.pg_namespace.nspname NOT LIKE 'pg/_' || '%' ESCAPE '/') ORDER BY pg_catalog.pg_namespace.nspname;

-- superset: SQLAlchemy 2.1.9 inspector has_table(bi_orders, schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 2.1.9, captured with psycopg2 from a real PostgreSQL 15)
SELECT pg_catalog.pg_class.relname 
FROM pg_catalog.pg_class JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace 
WHERE pg_catalog.pg_class.relname IN ('bi_orders') AND pg_catalog.pg_class.relkind = ANY (ARRAY['r', 'p', 'f', 'v', 'm']) AND pg_catalog.pg_namespace.nspname = 'public';

-- superset: SQLAlchemy 2.1.9 inspector get_table_names(schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 2.1.9, captured with psycopg2 from a real PostgreSQL 15)
SELECT pg_catalog.pg_class.relname 
FROM pg_catalog.pg_class JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace 
WHERE pg_catalog.pg_class.relkind = ANY (ARRAY['r', 'p']) AND pg_catalog.pg_class.relpersistence != 't' AND pg_catalog.pg_namespace.nspname = 'public';

-- superset: SQLAlchemy 2.1.9 inspector get_foreign_table_names(schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 2.1.9, captured with psycopg2 from a real PostgreSQL 15)
SELECT pg_catalog.pg_class.relname 
FROM pg_catalog.pg_class JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace 
WHERE pg_catalog.pg_class.relkind = ANY (ARRAY['f']) AND pg_catalog.pg_namespace.nspname = 'public';

-- superset: SQLAlchemy 2.1.9 inspector get_view_names(schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 2.1.9, captured with psycopg2 from a real PostgreSQL 15)
SELECT pg_catalog.pg_class.relname 
FROM pg_catalog.pg_class JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace 
WHERE pg_catalog.pg_class.relkind = ANY (ARRAY['v']) AND pg_catalog.pg_class.relpersistence != 't' AND pg_catalog.pg_namespace.nspname = 'public';

-- superset: SQLAlchemy 2.1.9 inspector get_materialized_view_names(schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 2.1.9, captured with psycopg2 from a real PostgreSQL 15)
SELECT pg_catalog.pg_class.relname 
FROM pg_catalog.pg_class JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace 
WHERE pg_catalog.pg_class.relkind = ANY (ARRAY['m']) AND pg_catalog.pg_class.relpersistence != 't' AND pg_catalog.pg_namespace.nspname = 'public';

-- superset: SQLAlchemy 2.1.9 inspector get_columns(bi_orders, schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 2.1.9, captured with psycopg2 from a real PostgreSQL 15)
SELECT pg_catalog.pg_attribute.attname AS name, pg_catalog.format_type(pg_catalog.pg_attribute.atttypid, pg_catalog.pg_attribute.atttypmod) AS format_type, CASE WHEN pg_catalog.pg_attribute.atthasdef THEN (SELECT pg_catalog.pg_get_expr(pg_catalog.pg_attrdef.adbin, pg_catalog.pg_attrdef.adrelid) AS pg_get_expr_1 
FROM pg_catalog.pg_attrdef 
WHERE pg_catalog.pg_attribute.atthasdef AND pg_catalog.pg_attrdef.adrelid = pg_catalog.pg_attribute.attrelid AND pg_catalog.pg_attrdef.adnum = pg_catalog.pg_attribute.attnum) ELSE NULL END AS "default", pg_catalog.pg_attribute.attnotnull AS not_null, pg_catalog.pg_class.relname AS table_name, pg_catalog.pg_description.description AS comment, pg_catalog.pg_attribute.attgenerated AS generated, CASE WHEN (pg_catalog.pg_attribute.attidentity != '') THEN (SELECT json_build_object('always', pg_catalog.pg_attribute.attidentity = 'a', 'start', pg_catalog.pg_sequence.seqstart, 'increment', pg_catalog.pg_sequence.seqincrement, 'minvalue', pg_catalog.pg_sequence.seqmin, 'maxvalue', pg_catalog.pg_sequence.seqmax, 'cache', pg_catalog.pg_sequence.seqcache, 'cycle', pg_catalog.pg_sequence.seqcycle) AS json_build_object_1 
FROM pg_catalog.pg_sequence 
WHERE pg_catalog.pg_attribute.attidentity != '' AND pg_catalog.pg_sequence.seqrelid = CAST(CAST(pg_catalog.pg_get_serial_sequence(CAST(CAST(pg_catalog.pg_attribute.attrelid AS REGCLASS) AS TEXT), pg_catalog.pg_attribute.attname) AS REGCLASS) AS OID)) ELSE NULL END AS identity_options, CASE WHEN (pg_catalog.pg_attribute.attcollation != 0 AND (SELECT pg_catalog.pg_type.typcollation 
FROM pg_catalog.pg_type 
WHERE pg_catalog.pg_type.oid = pg_catalog.pg_attribute.atttypid) != pg_catalog.pg_attribute.attcollation) THEN (SELECT json_build_object('name', pg_catalog.pg_collation.collname, 'schema', CASE WHEN pg_catalog.pg_collation_is_visible(pg_catalog.pg_collation.oid) THEN NULL ELSE pg_catalog.pg_namespace.nspname END) AS json_build_object_9 
FROM pg_catalog.pg_collation JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_collation.collnamespace 
WHERE pg_catalog.pg_collation.oid = pg_catalog.pg_attribute.attcollation) ELSE NULL END AS collation 
FROM pg_catalog.pg_class LEFT OUTER JOIN pg_catalog.pg_attribute ON pg_catalog.pg_class.oid = pg_catalog.pg_attribute.attrelid AND pg_catalog.pg_attribute.attnum > 0 AND NOT pg_catalog.pg_attribute.attisdropped LEFT OUTER JOIN pg_catalog.pg_description ON pg_catalog.pg_description.objoid = pg_catalog.pg_attribute.attrelid AND pg_catalog.pg_description.objsubid = pg_catalog.pg_attribute.attnum JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace 
WHERE pg_catalog.pg_class.relkind = ANY (ARRAY['r', 'p', 'f', 'v', 'm']) AND pg_catalog.pg_namespace.nspname = 'public' AND pg_catalog.pg_class.relname IN ('bi_orders') ORDER BY pg_catalog.pg_class.relname, pg_catalog.pg_attribute.attnum;

-- superset: SQLAlchemy 2.1.9 inspector get_pk_constraint(bi_orders, schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 2.1.9, captured with psycopg2 from a real PostgreSQL 15)
SELECT pg_catalog.pg_class.oid, pg_catalog.pg_class.relname 
FROM pg_catalog.pg_class JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace 
WHERE pg_catalog.pg_class.relkind = ANY (ARRAY['r', 'p', 'f', 'v', 'm']) AND pg_catalog.pg_namespace.nspname = 'public' AND pg_catalog.pg_class.relname IN ('bi_orders');

-- superset: SQLAlchemy 2.1.9 inspector get_pk_constraint(bi_orders, schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 2.1.9, captured with psycopg2 from a real PostgreSQL 15)
SELECT attr.conrelid, array_agg(CAST(attr.attname AS TEXT) ORDER BY attr.ord) AS cols, attr.conname, min(attr.description) AS description, min(attr.indnkeyatts) AS indnkeyatts, bool_and(attr.indnullsnotdistinct) AS indnullsnotdistinct 
FROM (SELECT con.conrelid AS conrelid, con.conname AS conname, con.description AS description, con.ord AS ord, con.indnkeyatts AS indnkeyatts, con.indnullsnotdistinct AS indnullsnotdistinct, pg_catalog.pg_attribute.attname AS attname 
FROM pg_catalog.pg_attribute JOIN (SELECT pg_catalog.pg_constraint.conrelid AS conrelid, pg_catalog.pg_constraint.conname AS conname, unnest(pg_catalog.pg_index.indkey) AS attnum, generate_subscripts(pg_catalog.pg_index.indkey, 1) AS ord, pg_catalog.pg_index.indnkeyatts AS indnkeyatts, pg_catalog.pg_index.indnullsnotdistinct AS indnullsnotdistinct, pg_catalog.pg_description.description AS description 
FROM pg_catalog.pg_constraint JOIN pg_catalog.pg_index ON pg_catalog.pg_constraint.conindid = pg_catalog.pg_index.indexrelid LEFT OUTER JOIN pg_catalog.pg_description ON pg_catalog.pg_description.objoid = pg_catalog.pg_constraint.oid AND pg_catalog.pg_description.classoid = CAST('pg_catalog.pg_constraint' AS REGCLASS) 
WHERE pg_catalog.pg_constraint.contype = 'p' AND pg_catalog.pg_constraint.conrelid IN ((SELECT oid FROM pg_catalog.pg_class WHERE relname = 'bi_orders' AND relnamespace = 2200))) AS con ON pg_catalog.pg_attribute.attnum = con.attnum AND pg_catalog.pg_attribute.attrelid = con.conrelid 
WHERE con.conrelid IN ((SELECT oid FROM pg_catalog.pg_class WHERE relname = 'bi_orders' AND relnamespace = 2200))) AS attr GROUP BY attr.conrelid, attr.conname ORDER BY attr.conrelid, attr.conname;

-- superset: SQLAlchemy 2.1.9 inspector get_foreign_keys(bi_orders, schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 2.1.9, captured with psycopg2 from a real PostgreSQL 15)
SELECT pg_catalog.pg_class.relname, pg_catalog.pg_constraint.conname, CASE WHEN (pg_catalog.pg_constraint.oid IS NOT NULL) THEN pg_catalog.pg_get_constraintdef(pg_catalog.pg_constraint.oid, true) END AS anon_1, nsp_ref.nspname, pg_catalog.pg_description.description 
FROM pg_catalog.pg_class LEFT OUTER JOIN pg_catalog.pg_constraint ON pg_catalog.pg_class.oid = pg_catalog.pg_constraint.conrelid AND pg_catalog.pg_constraint.contype = 'f' LEFT OUTER JOIN pg_catalog.pg_class AS cls_ref ON cls_ref.oid = pg_catalog.pg_constraint.confrelid LEFT OUTER JOIN pg_catalog.pg_namespace AS nsp_ref ON cls_ref.relnamespace = nsp_ref.oid LEFT OUTER JOIN pg_catalog.pg_description ON pg_catalog.pg_description.objoid = pg_catalog.pg_constraint.oid AND pg_catalog.pg_description.classoid = CAST('pg_catalog.pg_constraint' AS REGCLASS) JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace 
WHERE pg_catalog.pg_class.relkind = ANY (ARRAY['r', 'p', 'f', 'v', 'm']) AND pg_catalog.pg_namespace.nspname = 'public' AND pg_catalog.pg_class.relname IN ('bi_orders') ORDER BY pg_catalog.pg_class.relname, pg_catalog.pg_constraint.conname;

-- superset: SQLAlchemy 2.1.9 inspector get_indexes(bi_orders, schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 2.1.9, captured with psycopg2 from a real PostgreSQL 15)
SELECT pg_catalog.pg_am.oid, pg_catalog.pg_am.amname 
FROM pg_catalog.pg_am 
WHERE pg_catalog.pg_am.amname = 'btree';

-- superset: SQLAlchemy 2.1.9 inspector get_indexes(bi_orders, schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 2.1.9, captured with psycopg2 from a real PostgreSQL 15)
SELECT pg_catalog.pg_opclass.oid, pg_catalog.pg_opclass.opcname 
FROM pg_catalog.pg_opclass 
WHERE NOT pg_catalog.pg_opclass.opcdefault;

-- superset: SQLAlchemy 2.1.9 inspector get_indexes(bi_orders, schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 2.1.9, captured with psycopg2 from a real PostgreSQL 15)
SELECT pg_catalog.pg_index.indrelid, pg_catalog.pg_class.relname, pg_catalog.pg_index.indisunique, pg_catalog.pg_index.indisvalid, pg_catalog.pg_constraint.conrelid IS NOT NULL AS has_constraint, pg_catalog.pg_index.indoption, pg_catalog.pg_class.reloptions, pg_catalog.pg_class.relam, CASE WHEN (pg_catalog.pg_index.indpred IS NOT NULL) THEN pg_catalog.pg_get_expr(pg_catalog.pg_index.indpred, pg_catalog.pg_index.indrelid) END AS filter_definition, pg_catalog.pg_index.indnkeyatts, pg_catalog.pg_index.indnullsnotdistinct, idx_cols.elements, idx_cols.elements_is_expr, idx_cols.elements_opclass 
FROM pg_catalog.pg_index JOIN pg_catalog.pg_class ON pg_catalog.pg_index.indexrelid = pg_catalog.pg_class.oid LEFT OUTER JOIN (SELECT idx_attr.indexrelid AS indexrelid, min(idx_attr.indrelid) AS min_1, array_agg(idx_attr.element ORDER BY idx_attr.ord) AS elements, array_agg(idx_attr.is_expr ORDER BY idx_attr.ord) AS elements_is_expr, array_agg(idx_attr.att_opclass ORDER BY idx_attr.ord) AS elements_opclass 
FROM (SELECT idx.indexrelid AS indexrelid, idx.indrelid AS indrelid, idx.ord AS ord, CASE WHEN (idx.attnum = 0) THEN pg_catalog.pg_get_indexdef(idx.indexrelid, idx.ord + 1, true) ELSE CAST(pg_catalog.pg_attribute.attname AS TEXT) END AS element, idx.attnum = 0 AS is_expr, CAST(idx.att_opclass AS BIGINT) AS att_opclass 
FROM (SELECT pg_catalog.pg_index.indexrelid AS indexrelid, pg_catalog.pg_index.indrelid AS indrelid, unnest(pg_catalog.pg_index.indkey) AS attnum, unnest(pg_catalog.pg_index.indclass) AS att_opclass, generate_subscripts(pg_catalog.pg_index.indkey, 1) AS ord 
FROM pg_catalog.pg_index 
WHERE NOT pg_catalog.pg_index.indisprimary AND pg_catalog.pg_index.indrelid IN ((SELECT oid FROM pg_catalog.pg_class WHERE relname = 'bi_orders' AND relnamespace = 2200))) AS idx LEFT OUTER JOIN pg_catalog.pg_attribute ON pg_catalog.pg_attribute.attnum = idx.attnum AND pg_catalog.pg_attribute.attrelid = idx.indrelid 
WHERE idx.indrelid IN ((SELECT oid FROM pg_catalog.pg_class WHERE relname = 'bi_orders' AND relnamespace = 2200))) AS idx_attr GROUP BY idx_attr.indexrelid) AS idx_cols ON pg_catalog.pg_index.indexrelid = idx_cols.indexrelid LEFT OUTER JOIN pg_catalog.pg_constraint ON pg_catalog.pg_index.indrelid = pg_catalog.pg_constraint.conrelid AND pg_catalog.pg_index.indexrelid = pg_catalog.pg_constraint.conindid AND pg_catalog.pg_constraint.contype = ANY (ARRAY['p', 'u', 'x']) 
WHERE pg_catalog.pg_index.indrelid IN ((SELECT oid FROM pg_catalog.pg_class WHERE relname = 'bi_orders' AND relnamespace = 2200)) AND NOT pg_catalog.pg_index.indisprimary ORDER BY pg_catalog.pg_index.indrelid, pg_catalog.pg_class.relname;

-- superset: SQLAlchemy 2.1.9 inspector get_unique_constraints(bi_orders, schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 2.1.9, captured with psycopg2 from a real PostgreSQL 15)
SELECT attr.conrelid, array_agg(CAST(attr.attname AS TEXT) ORDER BY attr.ord) AS cols, attr.conname, min(attr.description) AS description, min(attr.indnkeyatts) AS indnkeyatts, bool_and(attr.indnullsnotdistinct) AS indnullsnotdistinct 
FROM (SELECT con.conrelid AS conrelid, con.conname AS conname, con.description AS description, con.ord AS ord, con.indnkeyatts AS indnkeyatts, con.indnullsnotdistinct AS indnullsnotdistinct, pg_catalog.pg_attribute.attname AS attname 
FROM pg_catalog.pg_attribute JOIN (SELECT pg_catalog.pg_constraint.conrelid AS conrelid, pg_catalog.pg_constraint.conname AS conname, unnest(pg_catalog.pg_index.indkey) AS attnum, generate_subscripts(pg_catalog.pg_index.indkey, 1) AS ord, pg_catalog.pg_index.indnkeyatts AS indnkeyatts, pg_catalog.pg_index.indnullsnotdistinct AS indnullsnotdistinct, pg_catalog.pg_description.description AS description 
FROM pg_catalog.pg_constraint JOIN pg_catalog.pg_index ON pg_catalog.pg_constraint.conindid = pg_catalog.pg_index.indexrelid LEFT OUTER JOIN pg_catalog.pg_description ON pg_catalog.pg_description.objoid = pg_catalog.pg_constraint.oid AND pg_catalog.pg_description.classoid = CAST('pg_catalog.pg_constraint' AS REGCLASS) 
WHERE pg_catalog.pg_constraint.contype = 'u' AND pg_catalog.pg_constraint.conrelid IN ((SELECT oid FROM pg_catalog.pg_class WHERE relname = 'bi_orders' AND relnamespace = 2200))) AS con ON pg_catalog.pg_attribute.attnum = con.attnum AND pg_catalog.pg_attribute.attrelid = con.conrelid 
WHERE con.conrelid IN ((SELECT oid FROM pg_catalog.pg_class WHERE relname = 'bi_orders' AND relnamespace = 2200))) AS attr GROUP BY attr.conrelid, attr.conname ORDER BY attr.conrelid, attr.conname;

-- superset: SQLAlchemy 2.1.9 inspector get_table_comment(bi_orders, schema=public) (source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ 2.1.9, captured with psycopg2 from a real PostgreSQL 15)
SELECT pg_catalog.pg_class.relname, pg_catalog.pg_description.description 
FROM pg_catalog.pg_class LEFT OUTER JOIN pg_catalog.pg_description ON pg_catalog.pg_class.oid = pg_catalog.pg_description.objoid AND pg_catalog.pg_description.objsubid = 0 AND pg_catalog.pg_description.classoid = CAST('pg_catalog.pg_class' AS REGCLASS) JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace 
WHERE pg_catalog.pg_class.relkind = ANY (ARRAY['r', 'p', 'f', 'v', 'm']) AND pg_catalog.pg_namespace.nspname = 'public' AND pg_catalog.pg_class.relname IN ('bi_orders');
