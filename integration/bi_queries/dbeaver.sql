-- Replayable catalog queries; see README.md in this directory.
-- Target objects: database grizzly, schema public (oid 2200 on both servers), table
--   CREATE TABLE bi_orders (id bigint NOT NULL, customer varchar(20), amount numeric(10,2) DEFAULT 0, placed date, at timestamptz);
-- A bind parameter that was a table OID is written as the scalar subquery
--   (SELECT oid FROM pg_catalog.pg_class WHERE relname = 'bi_orders' AND relnamespace = 2200)
-- so the file runs unchanged on any server. Each query: one '-- <tool>: ...' line, then the SQL, ending in ';'.

-- dbeaver: session start: pgjdbc connection set-up (source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs (DBeaver 25.1.5 capture))
SET extra_float_digits = 3;

-- dbeaver: session start: application name (source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs (DBeaver 25.1.5 capture))
SET application_name = 'DBeaver 25.1.5 - Main <grizzly>';

-- dbeaver: session start: current schema and user (PostgreExecutionContext) (source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs (DBeaver 25.1.5 capture))
SELECT current_schema(),session_user;

-- dbeaver: session start: search path (source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs (DBeaver 25.1.5 capture))
SHOW search_path;

-- dbeaver: session start: server version (PostgreDataSource) (source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDataSource.java)
SELECT version();

-- dbeaver: session start: string literal mode (PostgreDataSource settings cache) (source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs (DBeaver 25.1.5 capture))
SELECT * FROM pg_catalog.pg_settings where name='standard_conforming_strings';

-- dbeaver: list databases (PostgreDataSource.initializeRemoteInstance; ? = connection database 'grizzly') (source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDataSource.java)
SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE 1 = 1 AND datallowconn AND NOT datistemplate OR db.datname ='grizzly'
ORDER BY db.datname;

-- dbeaver: current database row (PostgreDatabase.readDatabaseInfo; ? = 'grizzly') (source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDatabase.java)
SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname='grizzly';

-- dbeaver: list schemas (PostgreDatabase.SchemaCache) (source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDatabase.java)
SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 AND d.classoid='pg_namespace'::regclass
 ORDER BY nspname;

-- dbeaver: type of an array OID (pgjdbc TypeInfoCache, oid 1034 = aclitem[]) (source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs (DBeaver 25.1.5 capture))
SELECT n.nspname = ANY(current_schemas(true)), n.nspname, t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE t.oid = 1034;

-- dbeaver: capability probe: pg_enum exists (source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs (DBeaver 25.1.5 capture))
SELECT * FROM pg_catalog.pg_enum WHERE 1<>1 LIMIT 1;

-- dbeaver: capability probe: pg_class.reltype exists (source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs (DBeaver 25.1.5 capture))
SELECT reltype FROM pg_catalog.pg_class WHERE 1<>1 LIMIT 1;

-- dbeaver: data types (PostgreDatabase / PostgreDataTypeCache) (source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDatabase.java)
SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as base_type_name, d.description
FROM pg_catalog.pg_type t
LEFT OUTER JOIN pg_catalog.pg_type et ON et.oid=t.typelem 
LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid=t.typrelid
LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid
WHERE t.typname IS NOT NULL
AND (c.relkind IS NULL OR c.relkind = 'c') AND (et.typcategory IS NULL OR et.typcategory <> 'C');

-- dbeaver: list tables/views/sequences of schema public (PostgreSchema.TableCache, relnamespace = oid of public = 2200) (source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java)
SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr,  pg_catalog.pg_get_partkeydef(c.oid) as partition_key 
FROM pg_catalog.pg_class c
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_class'::regclass
WHERE c.relnamespace=2200 AND c.relkind not in ('i','I','c');

-- dbeaver: look up one table by name (PostgreSchema.TableCache with objectName = 'bi_orders') (source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java)
SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr,  pg_catalog.pg_get_partkeydef(c.oid) as partition_key 
FROM pg_catalog.pg_class c
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_class'::regclass
WHERE c.relnamespace=2200 AND c.relkind not in ('i','I','c') AND relname='bi_orders';

-- dbeaver: table sizes of schema public (PostgreSchema.collectObjectStatistics) (source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java)
select c.oid,pg_catalog.pg_total_relation_size(c.oid) as total_rel_size,pg_catalog.pg_relation_size(c.oid) as rel_size
FROM pg_class c
WHERE c.relnamespace=2200;

-- dbeaver: table inheritance in schema public (PostgreSchema.loadInheritance) (source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java)
SELECT i.inhrelid relid, pc.relnamespace parent_ns, pc.oid parent_oid, i.inhseqno
FROM pg_catalog.pg_inherits i, pg_class rc, pg_class pc
WHERE rc.oid=i.inhrelid AND rc.relnamespace=2200 AND pc.oid=i.inhparent;

-- dbeaver: columns of all tables in schema public (PostgreSchema.TableCache.prepareChildrenStatement, forTable = null) (source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java)
SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,dsc.description,dep.objid
FROM pg_catalog.pg_attribute a
INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)
LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)
LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)
LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' and dep.refobjsubid = a.attnum and dep.classid = dep.refclassid
WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') AND c.relnamespace=2200
ORDER BY a.attnum;

-- dbeaver: columns of bi_orders (PostgreSchema.TableCache.prepareChildrenStatement, forTable = bi_orders; ? = its OID) (source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java)
SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,dsc.description,dep.objid
FROM pg_catalog.pg_attribute a
INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)
LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)
LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)
LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' and dep.refobjsubid = a.attnum and dep.classid = dep.refclassid
WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') AND c.oid=(SELECT oid FROM pg_catalog.pg_class WHERE relname = 'bi_orders' AND relnamespace = 2200)
ORDER BY a.attnum;

-- dbeaver: constraints of bi_orders (PostgreSchema.ConstraintCache, forParent = bi_orders) (source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java)
SELECT c.oid,c.*,t.relname as tabrelname,rt.relnamespace as refnamespace,d.description, case when c.contype='c' then "substring"(pg_get_constraintdef(c.oid), 7) else null end consrc_copy
FROM pg_catalog.pg_constraint c
INNER JOIN pg_catalog.pg_class t ON t.oid=c.conrelid
LEFT OUTER JOIN pg_catalog.pg_class rt ON rt.oid=c.confrelid
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_constraint'::regclass
WHERE c.conrelid=(SELECT oid FROM pg_catalog.pg_class WHERE relname = 'bi_orders' AND relnamespace = 2200)
ORDER BY c.oid;

-- dbeaver: indexes of bi_orders (PostgreSchema.IndexCache, forTable = bi_orders) (source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java)
SELECT i.*,i.indkey as keys,c.relname,c.relnamespace,c.relam,c.reltablespace,tc.relname as tabrelname,dsc.description,pg_catalog.pg_get_expr(i.indpred, i.indrelid) as pred_expr,pg_catalog.pg_get_expr(i.indexprs, i.indrelid, true) as expr,pg_catalog.pg_relation_size(i.indexrelid) as index_rel_size,pg_catalog.pg_stat_get_numscans(i.indexrelid) as index_num_scans
FROM pg_catalog.pg_index i
INNER JOIN pg_catalog.pg_class c ON c.oid=i.indexrelid
INNER JOIN pg_catalog.pg_class tc ON tc.oid=i.indrelid
LEFT OUTER JOIN pg_catalog.pg_description dsc ON i.indexrelid=dsc.objoid
WHERE  i.indrelid=(SELECT oid FROM pg_catalog.pg_class WHERE relname = 'bi_orders' AND relnamespace = 2200) ORDER BY c.relname;
