// Real-client integration test: pgjdbc (the PostgreSQL JDBC driver) against a running server.
//
// A plain main() with small check helpers (no JUnit): every check prints "ok" or "FAIL",
// failures are counted, and the last line is "jdbc: N passed, M known gaps, K failed". Each
// section opens its own connection, so a section that breaks its connection does not take the
// next ones down with it; an exception inside a section counts as one failed check.
//
// Checks that fail because of a known, documented Grizzly gap are listed in KNOWN_GAPS: while
// they fail they print "KNOWN GAP" and are not failures; once one passes it is a failure, so
// that the list gets updated.
//
// Every expected value is PostgreSQL's own behaviour (checked against PostgreSQL 15 with
// pgjdbc 42.5): run.sh can point this test at a real PostgreSQL to confirm it passes there.
//
// Usage: java -cp postgresql.jar:. JdbcTest HOST PORT USER DATABASE
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.Date;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.TreeSet;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

public class JdbcTest {
  static int passed = 0;
  static int failed = 0;
  static int knownGaps = 0;

  // Known Grizzly gaps: {check-name prefix, reason}. A failing check (or a section that throws)
  // whose name starts with a prefix is reported as "KNOWN GAP" and not counted as failed; a
  // check that matches a prefix and passes counts as failed, as does a prefix that matched no
  // check at all. The expectations stay PostgreSQL's: remove an entry when Grizzly fixes it.
  static final String[][] KNOWN_GAPS = {
    {"prepared expression select #",
        "a bare-numeric parameter (?::numeric) is held as numeric(38,10): it prints with 10 decimals, not its own scale"},
  };
  static final boolean[] knownGapSeen = new boolean[KNOWN_GAPS.length];
  static String url;
  static Properties props = new Properties();

  // Test tables (names without '_' so that the LIKE patterns of DatabaseMetaData match
  // exactly one table).
  static final String T = "jdbctypes";
  static final String ITEMS = "jdbcitems";
  static final String COPYT = "jdbccopy";
  static final String DATES = "jdbcdates";

  interface Body {
    void run(Connection c) throws Exception;
  }

  /** The KNOWN_GAPS index whose prefix starts name, or -1. */
  static int knownGap(String name) {
    for (int i = 0; i < KNOWN_GAPS.length; i++) {
      if (name.startsWith(KNOWN_GAPS[i][0])) {
        knownGapSeen[i] = true;
        return i;
      }
    }
    return -1;
  }

  static void pass(String name) {
    int gap = knownGap(name);
    if (gap < 0) {
      passed++;
      System.out.println("ok   " + name);
    } else {
      failed++;
      System.out.println("FAIL " + name + ": now passes; remove it from KNOWN_GAPS (\""
          + KNOWN_GAPS[gap][0] + "\": " + KNOWN_GAPS[gap][1] + ")");
    }
  }

  /** A failed check; detail starts with its separator (": expected ...", " threw ..."). */
  static void fail(String name, String detail) {
    int gap = knownGap(name);
    if (gap < 0) {
      failed++;
      System.out.println("FAIL " + name + detail);
    } else {
      knownGaps++;
      System.out.println("KNOWN GAP " + name + ": " + KNOWN_GAPS[gap][1]);
      System.out.println("       (" + name + detail + ")");
    }
  }

  static void check(String name, Object expected, Object actual) {
    if (Objects.equals(expected, actual)) {
      pass(name);
    } else {
      fail(name, ": expected " + show(expected) + ", got " + show(actual));
    }
  }

  static void checkTrue(String name, boolean cond, String detail) {
    if (cond) {
      pass(name);
    } else {
      fail(name, ": " + detail);
    }
  }

  static String show(Object o) {
    if (o == null) return "null";
    if (o instanceof byte[]) return Arrays.toString((byte[]) o) + " (byte[])";
    if (o instanceof int[]) return Arrays.toString((int[]) o) + " (int[])";
    return "<" + o + "> (" + o.getClass().getSimpleName() + ")";
  }

  static String describe(Throwable e) {
    if (e instanceof SQLException) {
      SQLException s = (SQLException) e;
      return "SQLException [SQLSTATE " + s.getSQLState() + "] " + s.getMessage();
    }
    return e.toString();
  }

  /** Runs a section on a fresh connection; an exception is one failed check. */
  static void section(String name, Body body) {
    System.out.println("--- " + name);
    try (Connection c = DriverManager.getConnection(url, props)) {
      body.run(c);
    } catch (Throwable e) {
      fail(name, " threw " + describe(e));
      Throwable cause = e.getCause();
      while (cause != null) {
        System.out.println("       caused by " + describe(cause));
        cause = cause.getCause();
      }
    }
  }

  /** Runs one check that may throw; the exception is the failure. */
  static void attempt(String name, Body body, Connection c) {
    try {
      body.run(c);
    } catch (Throwable e) {
      fail(name, " threw " + describe(e));
    }
  }

  static void exec(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  static Object scalar(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      if (!rs.next()) return null;
      return rs.getObject(1);
    }
  }

  static String sqlState(Connection c, String sql) {
    try (Statement s = c.createStatement()) {
      s.execute(sql);
      return "(no error)";
    } catch (SQLException e) {
      return e.getSQLState();
    }
  }

  public static void main(String[] args) throws Exception {
    String host = args.length > 0 ? args[0] : "127.0.0.1";
    String port = args.length > 1 ? args[1] : "5432";
    String user = args.length > 2 ? args[2] : "grizzly";
    String db = args.length > 3 ? args[3] : "grizzly";
    url = "jdbc:postgresql://" + host + ":" + port + "/" + db;
    props.setProperty("user", user);
    props.setProperty("connectTimeout", "10");
    props.setProperty("socketTimeout", "60");

    section("connect", JdbcTest::connect);
    section("setup", JdbcTest::setup);
    section("database metadata", JdbcTest::databaseMetaData);
    section("getTables", JdbcTest::getTables);
    section("getColumns", JdbcTest::getColumns);
    section("getSchemas", JdbcTest::getSchemas);
    section("getPrimaryKeys", JdbcTest::getPrimaryKeys);
    section("prepared insert (all setters, > prepareThreshold)", JdbcTest::preparedInsert);
    section("prepared select (> prepareThreshold)", JdbcTest::preparedSelect);
    section("setDate", JdbcTest::setDate);
    section("getObject types", JdbcTest::getObjectTypes);
    section("result set metadata", JdbcTest::resultSetMetaData);
    section("batch", JdbcTest::batch);
    section("transaction + fetch size", JdbcTest::transactionAndFetchSize);
    section("copy in", JdbcTest::copyIn);
    section("copy out", JdbcTest::copyOut);
    section("errors", JdbcTest::errors);
    section("cleanup", JdbcTest::cleanup);

    for (int i = 0; i < KNOWN_GAPS.length; i++) {
      if (!knownGapSeen[i]) {
        failed++;
        System.out.println("FAIL KNOWN_GAPS entry \"" + KNOWN_GAPS[i][0]
            + "\" matched no check; remove or rename it");
      }
    }

    System.out.println();
    System.out.println(
        "jdbc: " + passed + " passed, " + knownGaps + " known gaps, " + failed + " failed");
    System.exit(failed == 0 ? 0 : 1);
  }

  // ---------------------------------------------------------------------------------------

  static void connect(Connection c) throws Exception {
    check("connection is valid", true, c.isValid(5));
    check("select 1", 1, scalar(c, "SELECT 1"));
    // pgjdbc refuses to work unless DateStyle starts with ISO; it checks the ParameterStatus.
    String ds = (String) scalar(c, "SHOW DateStyle");
    checkTrue("SHOW DateStyle starts with ISO", ds != null && ds.startsWith("ISO"), "got " + ds);
    check("SHOW client_encoding", "UTF8", scalar(c, "SHOW client_encoding"));
    check("SHOW TimeZone (sent by pgjdbc from the JVM zone)", "UTC", scalar(c, "SHOW TimeZone"));
    exec(c, "SET application_name = 'jdbc-test'");
    check("SET then SHOW application_name", "jdbc-test", scalar(c, "SHOW application_name"));
    check("autocommit on by default", true, c.getAutoCommit());
  }

  static void setup(Connection c) throws Exception {
    exec(c, "DROP TABLE IF EXISTS " + T);
    exec(c, "DROP TABLE IF EXISTS " + ITEMS);
    exec(c, "DROP TABLE IF EXISTS " + COPYT);
    exec(c, "DROP TABLE IF EXISTS " + DATES);
    exec(c, "CREATE TABLE " + T + " ("
        + "id integer NOT NULL, "
        + "big bigint, "
        + "name varchar(20), "
        + "amount numeric(10,2) DEFAULT 0, "
        + "note text DEFAULT 'none', "
        + "flag boolean, "
        + "d date, "
        + "ts timestamp, "
        + "tstz timestamptz, "
        + "b bytea, "
        + "r real, "
        + "dp double precision, "
        + "s smallint NOT NULL DEFAULT 7)");
    exec(c, "CREATE TABLE " + ITEMS + " (id integer NOT NULL, label text, qty integer)");
    exec(c, "CREATE TABLE " + COPYT + " (id integer, label text, price numeric(8,2), day date)");
    check("tables created", 0L, scalar(c, "SELECT count(*) FROM " + T));
  }

  static void databaseMetaData(Connection c) throws Exception {
    DatabaseMetaData md = c.getMetaData();
    check("getDatabaseProductName", "PostgreSQL", md.getDatabaseProductName());
    String v = md.getDatabaseProductVersion();
    checkTrue("getDatabaseProductVersion looks like N.N", v != null && v.matches("\\d+\\.\\d+.*"),
        "got " + v);
    checkTrue("getDatabaseMajorVersion >= 10", md.getDatabaseMajorVersion() >= 10,
        "got " + md.getDatabaseMajorVersion());
    check("getDriverName", "PostgreSQL JDBC Driver", md.getDriverName());
    check("getUserName", props.getProperty("user"), md.getUserName());
    String version = (String) scalar(c, "SELECT version()");
    checkTrue("version() starts with PostgreSQL", version != null && version.startsWith("PostgreSQL "),
        "got " + version);
    check("current_schema()", "public", scalar(c, "SELECT current_schema()"));
  }

  static void getTables(Connection c) throws Exception {
    DatabaseMetaData md = c.getMetaData();
    Map<String, String[]> found = new HashMap<>();
    try (ResultSet rs = md.getTables(null, "public", "%", new String[] {"TABLE"})) {
      while (rs.next()) {
        found.put(rs.getString("TABLE_NAME"),
            new String[] {rs.getString("TABLE_SCHEM"), rs.getString("TABLE_TYPE"), rs.getString("TABLE_CAT")});
      }
    }
    for (String t : new String[] {T, ITEMS, COPYT}) {
      checkTrue("getTables finds " + t, found.containsKey(t), "found only " + new TreeSet<>(found.keySet()));
      if (found.containsKey(t)) {
        check("getTables " + t + " TABLE_SCHEM", "public", found.get(t)[0]);
        check("getTables " + t + " TABLE_TYPE", "TABLE", found.get(t)[1]);
      }
    }
    // A single table by exact name, with a null type filter.
    int n = 0;
    try (ResultSet rs = md.getTables(null, "public", T, null)) {
      while (rs.next()) n++;
    }
    check("getTables(null, public, " + T + ", null) row count", 1, n);
    // Table types the driver offers must include TABLE and VIEW.
    List<String> types = new ArrayList<>();
    try (ResultSet rs = md.getTableTypes()) {
      while (rs.next()) types.add(rs.getString(1));
    }
    checkTrue("getTableTypes has TABLE", types.contains("TABLE"), "got " + types);
  }

  static void getColumns(Connection c) throws Exception {
    DatabaseMetaData md = c.getMetaData();
    // name -> {TYPE_NAME, DATA_TYPE, COLUMN_SIZE, DECIMAL_DIGITS, NULLABLE, COLUMN_DEF,
    //          ORDINAL_POSITION, IS_NULLABLE}
    Object[][] expected = {
      {"id", "int4", Types.INTEGER, 10, 0, DatabaseMetaData.columnNoNulls, null, 1, "NO"},
      {"big", "int8", Types.BIGINT, 19, 0, DatabaseMetaData.columnNullable, null, 2, "YES"},
      {"name", "varchar", Types.VARCHAR, 20, 0, DatabaseMetaData.columnNullable, null, 3, "YES"},
      {"amount", "numeric", Types.NUMERIC, 10, 2, DatabaseMetaData.columnNullable, "0", 4, "YES"},
      {"note", "text", Types.VARCHAR, 2147483647, 0, DatabaseMetaData.columnNullable, "'none'::text", 5, "YES"},
      {"flag", "bool", Types.BIT, 1, 0, DatabaseMetaData.columnNullable, null, 6, "YES"},
      {"d", "date", Types.DATE, 13, 0, DatabaseMetaData.columnNullable, null, 7, "YES"},
      {"ts", "timestamp", Types.TIMESTAMP, 29, 6, DatabaseMetaData.columnNullable, null, 8, "YES"},
      {"tstz", "timestamptz", Types.TIMESTAMP, 35, 6, DatabaseMetaData.columnNullable, null, 9, "YES"},
      {"b", "bytea", Types.BINARY, 2147483647, 0, DatabaseMetaData.columnNullable, null, 10, "YES"},
      {"r", "float4", Types.REAL, 8, 8, DatabaseMetaData.columnNullable, null, 11, "YES"},
      {"dp", "float8", Types.DOUBLE, 17, 17, DatabaseMetaData.columnNullable, null, 12, "YES"},
      {"s", "int2", Types.SMALLINT, 5, 0, DatabaseMetaData.columnNoNulls, "7", 13, "NO"},
    };
    Map<String, Object[]> got = new HashMap<>();
    List<String> order = new ArrayList<>();
    try (ResultSet rs = md.getColumns(null, "public", T, "%")) {
      while (rs.next()) {
        String name = rs.getString("COLUMN_NAME");
        order.add(name);
        got.put(name, new Object[] {
          rs.getString("TYPE_NAME"), rs.getInt("DATA_TYPE"), rs.getInt("COLUMN_SIZE"),
          rs.getInt("DECIMAL_DIGITS"), rs.getInt("NULLABLE"), rs.getString("COLUMN_DEF"),
          rs.getInt("ORDINAL_POSITION"), rs.getString("IS_NULLABLE"),
          rs.getString("TABLE_SCHEM"), rs.getString("TABLE_NAME")});
      }
    }
    List<String> expectedOrder = new ArrayList<>();
    for (Object[] e : expected) expectedOrder.add((String) e[0]);
    check("getColumns(null, public, " + T + ", %) columns in order", expectedOrder, order);
    String[] fields = {"TYPE_NAME", "DATA_TYPE", "COLUMN_SIZE", "DECIMAL_DIGITS", "NULLABLE",
      "COLUMN_DEF", "ORDINAL_POSITION", "IS_NULLABLE"};
    for (Object[] e : expected) {
      Object[] g = got.get((String) e[0]);
      if (g == null) {
        checkTrue("getColumns has column " + e[0], false, "column missing");
        continue;
      }
      for (int i = 0; i < fields.length; i++) {
        check("getColumns " + e[0] + " " + fields[i], e[i + 1], g[i]);
      }
      check("getColumns " + e[0] + " TABLE_SCHEM/TABLE_NAME", "public." + T, g[8] + "." + g[9]);
    }
    // A column-name pattern selects one column.
    int n = 0;
    try (ResultSet rs = md.getColumns(null, "public", T, "amount")) {
      while (rs.next()) n++;
    }
    check("getColumns(null, public, " + T + ", amount) row count", 1, n);
  }

  static void getSchemas(Connection c) throws Exception {
    DatabaseMetaData md = c.getMetaData();
    List<String> schemas = new ArrayList<>();
    try (ResultSet rs = md.getSchemas()) {
      while (rs.next()) schemas.add(rs.getString("TABLE_SCHEM"));
    }
    for (String s : new String[] {"public", "pg_catalog", "information_schema"}) {
      checkTrue("getSchemas has " + s, schemas.contains(s), "got " + schemas);
    }
    List<String> filtered = new ArrayList<>();
    try (ResultSet rs = md.getSchemas(null, "pub%")) {
      while (rs.next()) filtered.add(rs.getString("TABLE_SCHEM"));
    }
    check("getSchemas(null, pub%)", List.of("public"), filtered);
  }

  static void getPrimaryKeys(Connection c) throws Exception {
    DatabaseMetaData md = c.getMetaData();
    int n = 0;
    try (ResultSet rs = md.getPrimaryKeys(null, "public", T)) {
      while (rs.next()) n++;
    }
    check("getPrimaryKeys(null, public, " + T + ") is empty", 0, n);
  }

  static final String INSERT_SQL = "INSERT INTO " + T
      + " (id, big, name, amount, note, flag, d, ts, tstz, b, r, dp, s)"
      + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

  static BigDecimal amountFor(int i) {
    return new BigDecimal(i + "23.45");
  }

  static void preparedInsert(Connection c) throws Exception {
    // 8 executions: pgjdbc switches to a named server-side statement at the 5th
    // (prepareThreshold=5) and then also sends int/bytea parameters in binary.
    try (PreparedStatement ps = c.prepareStatement(INSERT_SQL)) {
      for (int i = 1; i <= 8; i++) {
        final int k = i;
        ps.setInt(1, i);
        ps.setLong(2, 9000000000L + i);
        ps.setString(3, "name" + i);
        ps.setBigDecimal(4, amountFor(i));
        ps.setString(5, "note " + i);
        ps.setBoolean(6, i % 2 == 0);
        // setDate has its own section below (it sends "2024-01-01 +00"); use setObject here.
        ps.setObject(7, LocalDate.of(2024, 1, i));
        ps.setTimestamp(8, Timestamp.valueOf(LocalDateTime.of(2024, 1, i, 10, 20, 30, 123456000)));
        ps.setTimestamp(9, Timestamp.valueOf(LocalDateTime.of(2024, 2, i, 1, 2, 3)));
        ps.setBytes(10, new byte[] {(byte) i, 0, (byte) 0xff, (byte) 0x80});
        ps.setFloat(11, 1.5f * i);
        ps.setDouble(12, 0.25 * i);
        ps.setShort(13, (short) (100 + i));
        try {
          check("prepared insert #" + k + " update count", 1, ps.executeUpdate());
        } catch (SQLException e) {
          check("prepared insert #" + k, "ok", describe(e));
        }
      }
    }
    // A row with NULLs everywhere allowed, and defaults for amount/note/s.
    try (PreparedStatement ps = c.prepareStatement(
        "INSERT INTO " + T + " (id, big, name, flag, d, ts, tstz, b, r, dp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
      ps.setInt(1, 100);
      ps.setNull(2, Types.BIGINT);
      ps.setNull(3, Types.VARCHAR);
      ps.setNull(4, Types.BOOLEAN);
      ps.setNull(5, Types.DATE);
      ps.setNull(6, Types.TIMESTAMP);
      ps.setNull(7, Types.TIMESTAMP);
      ps.setNull(8, Types.BINARY);
      ps.setNull(9, Types.REAL);
      ps.setNull(10, Types.DOUBLE);
      check("prepared insert with setNull", 1, ps.executeUpdate());
    }
    check("row count after prepared inserts", 9L, scalar(c, "SELECT count(*) FROM " + T));
    check("defaults applied (amount, note, s)", "0.00|none|7",
        scalar(c, "SELECT amount::text || '|' || note || '|' || s::text FROM " + T + " WHERE id = 100"));
  }

  static void preparedSelect(Connection c) throws Exception {
    // One statement with many parameter types in the WHERE clause, executed 8 times.
    String sql = "SELECT id, big, name, amount, flag, d, ts, b FROM " + T
        + " WHERE id = ? AND big = ? AND name = ? AND amount = ? AND flag = ? AND d = ?"
        + " AND ts = ? AND b = ?";
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 1; i <= 8; i++) {
        final int k = i;
        ps.setInt(1, i);
        ps.setLong(2, 9000000000L + i);
        ps.setString(3, "name" + i);
        ps.setBigDecimal(4, amountFor(i));
        ps.setBoolean(5, i % 2 == 0);
        ps.setObject(6, LocalDate.of(2024, 1, i));
        ps.setTimestamp(7, Timestamp.valueOf(LocalDateTime.of(2024, 1, i, 10, 20, 30, 123456000)));
        ps.setBytes(8, new byte[] {(byte) i, 0, (byte) 0xff, (byte) 0x80});
        try (ResultSet rs = ps.executeQuery()) {
          List<String> rows = new ArrayList<>();
          while (rs.next()) {
            rows.add(rs.getInt(1) + "|" + rs.getLong(2) + "|" + rs.getString(3) + "|"
                + rs.getBigDecimal(4) + "|" + rs.getBoolean(5) + "|" + rs.getDate(6) + "|"
                + rs.getTimestamp(7) + "|" + Arrays.toString(rs.getBytes(8)));
          }
          String want = k + "|" + (9000000000L + k) + "|name" + k + "|" + amountFor(k) + "|"
              + (k % 2 == 0) + "|2024-01-0" + k + "|2024-01-0" + k + " 10:20:30.123456|"
              + Arrays.toString(new byte[] {(byte) k, 0, (byte) 0xff, (byte) 0x80});
          check("prepared select #" + k + " (all parameter types)", List.of(want), rows);
        } catch (SQLException e) {
          check("prepared select #" + k, "ok", describe(e));
        }
      }
    }
    // A simple parameterised query, 10 executions, reading ints/longs/doubles that pgjdbc
    // asks for in binary once the statement is server-prepared.
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT id, big, r, dp, s, tstz FROM " + T + " WHERE id >= ? ORDER BY id LIMIT 2")) {
      for (int i = 1; i <= 10; i++) {
        final int k = Math.min(i, 7);
        ps.setInt(1, k);
        try (ResultSet rs = ps.executeQuery()) {
          List<String> rows = new ArrayList<>();
          while (rs.next()) {
            rows.add(rs.getInt(1) + "|" + rs.getLong(2) + "|" + rs.getFloat(3) + "|"
                + rs.getDouble(4) + "|" + rs.getShort(5) + "|"
                + rs.getObject(6, OffsetDateTime.class));
          }
          List<String> want = new ArrayList<>();
          for (int j = k; j < k + 2; j++) {
            want.add(j + "|" + (9000000000L + j) + "|" + (1.5f * j) + "|" + (0.25 * j) + "|"
                + (100 + j) + "|" + OffsetDateTime.of(2024, 2, j, 1, 2, 3, 0, ZoneOffset.UTC));
          }
          check("prepared select by id #" + i, want, rows);
        } catch (SQLException e) {
          check("prepared select by id #" + i, "ok", describe(e));
        }
      }
    }
    // Parameter used in an expression with no column to infer its type from.
    try (PreparedStatement ps = c.prepareStatement("SELECT ?::integer + 1, ? || 'x', ?::numeric * 2")) {
      for (int i = 1; i <= 6; i++) {
        ps.setInt(1, i);
        ps.setString(2, "s" + i);
        ps.setBigDecimal(3, new BigDecimal("1.25"));
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          check("prepared expression select #" + i, (i + 1) + "|s" + i + "x|2.50",
              rs.getInt(1) + "|" + rs.getString(2) + "|" + rs.getBigDecimal(3));
        } catch (SQLException e) {
          check("prepared expression select #" + i, "ok", describe(e));
        }
      }
    }
  }

  static void setDate(Connection c) throws Exception {
    // PreparedStatement.setDate: pgjdbc binds the text "2024-01-03 +00" with type
    // "unspecified" (OID 0); PostgreSQL's date input ignores the zone part.
    exec(c, "CREATE TABLE " + DATES + " (id integer, d date)");
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + DATES + " (id, d) VALUES (?, ?)")) {
      for (int i = 1; i <= 6; i++) {
        final int k = i;
        ps.setInt(1, i);
        ps.setDate(2, Date.valueOf(LocalDate.of(2024, 3, i)));
        try {
          check("setDate insert #" + k, 1, ps.executeUpdate());
        } catch (SQLException e) {
          check("setDate insert #" + k, "ok", describe(e));
        }
      }
    }
    try (PreparedStatement ps = c.prepareStatement("SELECT id FROM " + T + " WHERE d = ?")) {
      for (int i = 1; i <= 6; i++) {
        ps.setDate(1, Date.valueOf(LocalDate.of(2024, 1, i)));
        try (ResultSet rs = ps.executeQuery()) {
          List<Integer> ids = new ArrayList<>();
          while (rs.next()) ids.add(rs.getInt(1));
          check("setDate in WHERE #" + i, List.of(i), ids);
        } catch (SQLException e) {
          check("setDate in WHERE #" + i, "ok", describe(e));
        }
      }
    }
    check("rows inserted with setDate", "2024-03-01..2024-03-06 (6)",
        scalar(c, "SELECT min(d)::text || '..' || max(d)::text || ' (' || count(*)::text || ')' FROM " + DATES));
    exec(c, "DROP TABLE " + DATES);
  }

  static void getObjectTypes(Connection c) throws Exception {
    // Simple (unprepared) query: text results.
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(
            "SELECT id, big, name, amount, note, flag, d, ts, tstz, b, r, dp, s FROM " + T + " WHERE id = 2")) {
      checkTrue("getObject row found", rs.next(), "no row");
      Object[][] want = {
        {"id", Integer.class, 2},
        {"big", Long.class, 9000000002L},
        {"name", String.class, "name2"},
        {"amount", BigDecimal.class, new BigDecimal("223.45")},
        {"note", String.class, "note 2"},
        {"flag", Boolean.class, true},
        {"d", Date.class, Date.valueOf("2024-01-02")},
        {"ts", Timestamp.class, Timestamp.valueOf("2024-01-02 10:20:30.123456")},
        {"tstz", Timestamp.class, Timestamp.valueOf("2024-02-02 01:02:03")},
        {"b", byte[].class, null},
        {"r", Float.class, 3.0f},
        {"dp", Double.class, 0.5},
        {"s", Integer.class, 102},
      };
      for (Object[] w : want) {
        Object o = rs.getObject((String) w[0]);
        check("getObject(" + w[0] + ") class", ((Class<?>) w[1]).getSimpleName(),
            o == null ? "null" : o.getClass().getSimpleName());
        if (w[2] != null) check("getObject(" + w[0] + ") value", w[2], o);
      }
      check("getBytes(b)", Arrays.toString(new byte[] {2, 0, (byte) 0xff, (byte) 0x80}),
          Arrays.toString(rs.getBytes("b")));
      check("getString(tstz) (session TimeZone UTC)", "2024-02-02 01:02:03+00", rs.getString("tstz"));
      check("getString(ts)", "2024-01-02 10:20:30.123456", rs.getString("ts"));
      check("getString(flag)", "t", rs.getString("flag"));
      check("getString(b) (hex bytea output)", "\\x0200ff80", rs.getString("b"));
      check("getObject(d, LocalDate.class)", LocalDate.of(2024, 1, 2), rs.getObject("d", LocalDate.class));
      check("getObject(ts, LocalDateTime.class)", LocalDateTime.of(2024, 1, 2, 10, 20, 30, 123456000),
          rs.getObject("ts", LocalDateTime.class));
      check("getObject(tstz, OffsetDateTime.class)", OffsetDateTime.of(2024, 2, 2, 1, 2, 3, 0, ZoneOffset.UTC),
          rs.getObject("tstz", OffsetDateTime.class));
    }
    // NULLs
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT big, name, flag, d, b FROM " + T + " WHERE id = 100")) {
      rs.next();
      for (int i = 1; i <= 5; i++) {
        check("getObject NULL column " + i, null, rs.getObject(i));
      }
      check("getLong on NULL is 0 and wasNull", "0|true", rs.getLong(1) + "|" + rs.wasNull());
    }
    // Literals of every type (no table)
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT 1::smallint, 2::integer, 3::bigint, 1.5::real, 2.5::double precision,"
            + " 12.345::numeric(6,3), 'x'::text, true, DATE '2024-03-04', TIMESTAMP '2024-03-04 05:06:07',"
            + " '\\x0102'::bytea")) {
      rs.next();
      Object[] want = {1, 2, 3L, 1.5f, 2.5, new BigDecimal("12.345"), "x", true, Date.valueOf("2024-03-04"),
        Timestamp.valueOf("2024-03-04 05:06:07")};
      for (int i = 0; i < want.length; i++) {
        check("getObject literal column " + (i + 1), want[i], rs.getObject(i + 1));
      }
      check("getBytes literal bytea", "[1, 2]", Arrays.toString(rs.getBytes(11)));
    }
    // Aggregates and a window function through a PreparedStatement
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT count(*), sum(big), avg(id), max(amount) FROM " + T + " WHERE id <= ?")) {
      ps.setInt(1, 8);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        check("count(*) is Long", 8L, rs.getObject(1));
        check("sum(bigint) is BigDecimal (numeric)", new BigDecimal("72000000036"), rs.getObject(2));
        check("avg(integer) value", 0, new BigDecimal("4.5").compareTo(rs.getBigDecimal(3)));
        Object avg = rs.getObject(3);
        check("avg(integer) is BigDecimal (numeric)", "BigDecimal",
            avg == null ? "null" : avg.getClass().getSimpleName());
        check("max(numeric)", new BigDecimal("823.45"), rs.getObject(4));
      }
    }
  }

  static void resultSetMetaData(Connection c) throws Exception {
    String sql = "SELECT id, big, name, amount, note, flag, d, ts, tstz, b, r, dp, s FROM " + T + " WHERE id = 1";
    Object[][] want = {
      // name, java.sql.Types, type name, precision, scale
      {"id", Types.INTEGER, "int4", 10, 0},
      {"big", Types.BIGINT, "int8", 19, 0},
      {"name", Types.VARCHAR, "varchar", 20, 0},
      {"amount", Types.NUMERIC, "numeric", 10, 2},
      {"note", Types.VARCHAR, "text", 2147483647, 0},
      {"flag", Types.BIT, "bool", 1, 0},
      {"d", Types.DATE, "date", 13, 0},
      {"ts", Types.TIMESTAMP, "timestamp", 29, 6},
      {"tstz", Types.TIMESTAMP, "timestamptz", 35, 6},
      {"b", Types.BINARY, "bytea", 2147483647, 0},
      {"r", Types.REAL, "float4", 8, 8},
      {"dp", Types.DOUBLE, "float8", 17, 17},
      {"s", Types.SMALLINT, "int2", 5, 0},
    };
    for (String mode : new String[] {"Statement", "PreparedStatement"}) {
      ResultSetMetaData md;
      Statement st;
      ResultSet rs;
      if (mode.equals("Statement")) {
        st = c.createStatement();
        rs = st.executeQuery(sql);
      } else {
        PreparedStatement ps = c.prepareStatement(sql);
        st = ps;
        rs = ps.executeQuery();
      }
      try {
        md = rs.getMetaData();
        check(mode + " getColumnCount", want.length, md.getColumnCount());
        for (int i = 0; i < want.length; i++) {
          int col = i + 1;
          String n = (String) want[i][0];
          check(mode + " getColumnName(" + col + ")", n, md.getColumnName(col));
          check(mode + " getColumnLabel(" + col + ")", n, md.getColumnLabel(col));
          check(mode + " getColumnType(" + n + ")", want[i][1], md.getColumnType(col));
          check(mode + " getColumnTypeName(" + n + ")", want[i][2], md.getColumnTypeName(col));
          if (n.equals("amount") || n.equals("name") || n.equals("id")) {
            check(mode + " getPrecision(" + n + ")", want[i][3], md.getPrecision(col));
            check(mode + " getScale(" + n + ")", want[i][4], md.getScale(col));
          }
        }
        // These need the table OID + column number of the RowDescription and a catalog lookup.
        check(mode + " getTableName(1)", T, md.getTableName(1));
        check(mode + " getBaseSchemaName(1)", "public",
            md.unwrap(org.postgresql.PGResultSetMetaData.class).getBaseSchemaName(1));
        check(mode + " isNullable(id)", ResultSetMetaData.columnNoNulls, md.isNullable(1));
        check(mode + " isNullable(big)", ResultSetMetaData.columnNullable, md.isNullable(2));
        check(mode + " isAutoIncrement(id)", false, md.isAutoIncrement(1));
        check(mode + " getColumnClassName(amount)", "java.math.BigDecimal", md.getColumnClassName(4));
        check(mode + " getColumnDisplaySize(name)", 20, md.getColumnDisplaySize(3));
      } finally {
        rs.close();
        st.close();
      }
    }
    // Expressions: labels and numeric typmod of a computed column.
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT id + 1 AS next_id, amount * 2 AS twice, 'x' AS lit FROM " + T + " WHERE id = 1")) {
      ResultSetMetaData md = rs.getMetaData();
      check("expression getColumnLabel(1)", "next_id", md.getColumnLabel(1));
      check("expression getColumnType(next_id)", Types.INTEGER, md.getColumnType(1));
      check("expression getColumnType(twice)", Types.NUMERIC, md.getColumnType(2));
      check("expression getColumnTypeName(lit)", "text", md.getColumnTypeName(3));
      check("expression getTableName(1) is empty", "", md.getTableName(1));
    }
  }

  static void batch(Connection c) throws Exception {
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + ITEMS + " (id, label, qty) VALUES (?, ?, ?)")) {
      for (int i = 1; i <= 20; i++) {
        ps.setInt(1, i);
        ps.setString(2, "item" + i);
        if (i % 5 == 0) ps.setNull(3, Types.INTEGER); else ps.setInt(3, i * 10);
        ps.addBatch();
      }
      int[] counts = ps.executeBatch();
      int[] ones = new int[20];
      Arrays.fill(ones, 1);
      check("PreparedStatement executeBatch counts", Arrays.toString(ones), Arrays.toString(counts));
    }
    try (Statement s = c.createStatement()) {
      s.addBatch("INSERT INTO " + ITEMS + " VALUES (21, 'item21', 210)");
      s.addBatch("INSERT INTO " + ITEMS + " VALUES (22, 'item22', 220), (23, 'item23', 230)");
      int[] counts = s.executeBatch();
      check("Statement executeBatch counts", "[1, 2]", Arrays.toString(counts));
    }
    check("rows after batches", 23L, scalar(c, "SELECT count(*) FROM " + ITEMS));
    check("sum(qty) after batches (NULLs skipped)", 2260L,
        scalar(c, "SELECT sum(qty) FROM " + ITEMS));
    check("count(qty) after batches", 19L, scalar(c, "SELECT count(qty) FROM " + ITEMS));
    // A join and a window function over the batch-inserted rows.
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT i.id, sum(i.qty) OVER (ORDER BY i.id) AS running"
            + " FROM " + ITEMS + " i JOIN " + T + " t ON t.id = i.id WHERE i.id <= 3 ORDER BY i.id")) {
      List<String> rows = new ArrayList<>();
      while (rs.next()) rows.add(rs.getInt(1) + ":" + rs.getLong(2));
      check("join + window function", List.of("1:10", "2:30", "3:60"), rows);
    }
  }

  static void transactionAndFetchSize(Connection c) throws Exception {
    c.setAutoCommit(false);
    exec(c, "INSERT INTO " + ITEMS + " VALUES (24, 'item24', 240)");
    c.commit();
    // With autocommit off and a fetch size, pgjdbc runs the query through a named portal and
    // fetches it 3 rows at a time (Execute with a row limit, PortalSuspended in between).
    try (PreparedStatement ps = c.prepareStatement("SELECT id FROM " + ITEMS + " WHERE id <= ? ORDER BY id")) {
      ps.setFetchSize(3);
      ps.setInt(1, 10);
      try (ResultSet rs = ps.executeQuery()) {
        List<Integer> ids = new ArrayList<>();
        while (rs.next()) ids.add(rs.getInt(1));
        check("fetch size 3 over 10 rows", List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), ids);
      }
    }
    c.commit();
    c.setAutoCommit(true);
    check("row committed in explicit transaction", 1L, scalar(c, "SELECT count(*) FROM " + ITEMS + " WHERE id = 24"));
  }

  static void copyIn(Connection c) throws Exception {
    CopyManager cm = c.unwrap(PGConnection.class).getCopyAPI();
    String text = "1\tapple\t1.50\t2024-05-01\n"
        + "2\tpear\t\\N\t2024-05-02\n"
        + "3\ttab\\there\t3.25\t\\N\n";
    long n = cm.copyIn("COPY " + COPYT + " FROM STDIN", new StringReader(text));
    check("copyIn text row count", 3L, n);
    String csv = "4,\"comma, inside\",4.00,2024-05-04\n"
        + "5,,5.50,2024-05-05\n";
    n = cm.copyIn("COPY " + COPYT + " (id, label, price, day) FROM STDIN WITH (FORMAT csv)",
        new ByteArrayInputStream(csv.getBytes(StandardCharsets.UTF_8)));
    check("copyIn csv row count", 2L, n);
    String csvh = "id,label,price,day\n6,six,6.00,2024-05-06\n";
    n = cm.copyIn("COPY " + COPYT + " FROM STDIN WITH (FORMAT csv, HEADER true)", new StringReader(csvh));
    check("copyIn csv with header row count", 1L, n);
    List<String> rows = new ArrayList<>();
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT id, label, price, day FROM " + COPYT + " ORDER BY id")) {
      while (rs.next()) rows.add(rs.getInt(1) + "|" + rs.getString(2) + "|" + rs.getString(3) + "|" + rs.getString(4));
    }
    check("rows after copyIn", List.of(
        "1|apple|1.50|2024-05-01",
        "2|pear|null|2024-05-02",
        "3|tab\there|3.25|null",
        "4|comma, inside|4.00|2024-05-04",
        "5|null|5.50|2024-05-05",
        "6|six|6.00|2024-05-06"), rows);
    // Connection still usable after COPY
    check("query after copyIn", 6L, scalar(c, "SELECT count(*) FROM " + COPYT));
  }

  static void copyOut(Connection c) throws Exception {
    CopyManager cm = c.unwrap(PGConnection.class).getCopyAPI();
    StringWriter w = new StringWriter();
    long n = cm.copyOut("COPY " + COPYT + " TO STDOUT", w);
    check("copyOut text row count", 6L, n);
    // Table COPY has no guaranteed order: compare sorted lines.
    List<String> lines = new ArrayList<>(Arrays.asList(w.toString().split("\n", -1)));
    check("copyOut text ends with newline", "", lines.remove(lines.size() - 1));
    lines.sort(null);
    check("copyOut text lines", List.of(
        "1\tapple\t1.50\t2024-05-01",
        "2\tpear\t\\N\t2024-05-02",
        "3\ttab\\there\t3.25\t\\N",
        "4\tcomma, inside\t4.00\t2024-05-04",
        "5\t\\N\t5.50\t2024-05-05",
        "6\tsix\t6.00\t2024-05-06"), lines);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    n = cm.copyOut("COPY (SELECT id, label, price FROM " + COPYT + " WHERE id IN (3, 4, 5) ORDER BY id)"
        + " TO STDOUT WITH (FORMAT csv, HEADER true)", out);
    check("copyOut csv query row count", 3L, n);
    check("copyOut csv query content",
        "id,label,price\n3,tab\there,3.25\n4,\"comma, inside\",4.00\n5,,5.50\n",
        out.toString(StandardCharsets.UTF_8));
    check("query after copyOut", 1, scalar(c, "SELECT 1"));
  }

  static void errors(Connection c) throws Exception {
    try (Statement s = c.createStatement()) {
      s.executeQuery("SELECT * FROM jdbcnosuchtable");
      check("missing table raises", "SQLException", "no exception");
    } catch (SQLException e) {
      check("missing table SQLState (Statement)", "42P01", e.getSQLState());
      checkTrue("missing table message names the table", String.valueOf(e.getMessage()).contains("jdbcnosuchtable"),
          "got " + e.getMessage());
    }
    check("connection usable after error", 1, scalar(c, "SELECT 1"));
    try (PreparedStatement ps = c.prepareStatement("SELECT * FROM jdbcnosuchtable WHERE id = ?")) {
      ps.setInt(1, 1);
      ps.executeQuery();
      check("missing table raises (PreparedStatement)", "SQLException", "no exception");
    } catch (SQLException e) {
      check("missing table SQLState (PreparedStatement)", "42P01", e.getSQLState());
    }
    check("connection usable after prepared error", 1, scalar(c, "SELECT 1"));
    check("missing column SQLState", "42703", sqlState(c, "SELECT nosuchcolumn FROM " + T));
    check("syntax error SQLState", "42601", sqlState(c, "SELEC 1"));
    check("division by zero SQLState", "22012", sqlState(c, "SELECT 1 / 0"));
    check("NOT NULL violation SQLState", "23502", sqlState(c, "INSERT INTO " + ITEMS + " (label) VALUES ('x')"));
    check("duplicate table SQLState", "42P07", sqlState(c, "CREATE TABLE " + ITEMS + " (x integer)"));
    // Error inside an explicit transaction, then rollback and continue.
    c.setAutoCommit(false);
    check("error inside transaction SQLState", "42P01", sqlState(c, "SELECT * FROM jdbcnosuchtable"));
    c.rollback();
    c.setAutoCommit(true);
    check("connection usable after rollback", 1, scalar(c, "SELECT 1"));
  }

  static void cleanup(Connection c) throws Exception {
    exec(c, "DROP TABLE " + T);
    exec(c, "DROP TABLE " + ITEMS);
    exec(c, "DROP TABLE " + COPYT);
    check("tables dropped", "42P01", sqlState(c, "SELECT 1 FROM " + T));
  }
}
