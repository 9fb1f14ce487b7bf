// sluice compatibility scenario for pgJDBC (Debian's libpostgresql-jdbc-java): one JSON line per step (see
// compat/README.md). Connection parameters are libpq's (flags or PG* environment variables); the expectations say what
// the target should do with the DROP and the card number, so the same program checks a direct server and the sluice
// gateway. Compiled by the tests with javac into a temporary directory; no build tool.

import java.io.StringReader;
import java.io.StringWriter;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

public final class Scenario {
    private static final String CLIENT = "pgjdbc";
    /** A Luhn-valid test card number (Visa's documented test number): masking detectors must recognise it. */
    private static final String CARD = "4111111111111111";
    private static final long CANCEL_AFTER_MS = 500;
    private static final long CANCEL_LIMIT_MS = 5000;

    /** What a step observed when it completed without an error. */
    private record Observed(Long rows, boolean checkOk, String detail) {}

    @FunctionalInterface
    private interface Step {
        Observed run() throws Exception;
    }

    private boolean allPassed = true;

    private void report(String step, String outcome, String sqlstate, Long rows, String expected, boolean pass,
            String detail) {
        allPassed = allPassed && pass;
        System.out.println("{\"client\":\"" + CLIENT + "\",\"step\":" + json(step) + ",\"outcome\":" + json(outcome)
                + ",\"sqlstate\":" + json(sqlstate) + ",\"rows\":" + (rows == null ? "null" : rows.toString())
                + ",\"expected\":" + json(expected) + ",\"pass\":" + pass + ",\"detail\":" + json(detail) + "}");
        System.out.flush();
    }

    private void run(String step, String expected, Step action) {
        try {
            Observed seen = action.run();
            boolean pass = expected.equals("ok") && seen.checkOk();
            report(step, "ok", null, seen.rows(), expected, pass, seen.detail());
        } catch (SQLException err) {
            String state = err.getSQLState();
            report(step, "error", state, null, expected, expected.equals(state), firstLine(err.getMessage()));
        } catch (Exception err) {
            report(step, "error", null, null, expected, false, err.toString());
        }
    }

    private static String json(String value) {
        if (value == null) {
            return "null";
        }
        StringBuilder out = new StringBuilder("\"");
        for (char c : value.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }

    private static String ident(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }

    private static Map<String, String> parseArgs(String[] argv) {
        Map<String, String> env = System.getenv();
        Map<String, String> args = new HashMap<>();
        args.put("host", env.getOrDefault("PGHOST", "127.0.0.1"));
        args.put("port", env.getOrDefault("PGPORT", "5432"));
        args.put("user", env.get("PGUSER"));
        args.put("password", env.get("PGPASSWORD"));
        args.put("dbname", env.get("PGDATABASE"));
        args.put("sslmode", env.getOrDefault("PGSSLMODE", "prefer"));
        args.put("expect-drop", "refused");
        args.put("expect-card", "masked");
        args.put("drop-table", null);
        for (int i = 0; i < argv.length; i += 2) {
            String key = argv[i].replaceFirst("^--", "");
            if (!args.containsKey(key) || i + 1 >= argv.length) {
                System.err.println("usage: Scenario [--host H] [--port P] [--user U] [--password PW] [--dbname D]"
                        + " [--sslmode M] [--expect-drop refused|allowed|skip] [--expect-card masked|raw]"
                        + " [--drop-table T]\nunknown or incomplete argument: " + argv[i]);
                System.exit(2);
            }
            args.put(key, argv[i + 1]);
        }
        if (!List.of("refused", "allowed", "skip").contains(args.get("expect-drop"))
                || !List.of("masked", "raw").contains(args.get("expect-card"))) {
            System.err.println("--expect-drop must be refused|allowed|skip and --expect-card masked|raw");
            System.exit(2);
        }
        return args;
    }

    public static void main(String[] argv) {
        System.exit(new Scenario().scenario(parseArgs(argv)));
    }

    private int scenario(Map<String, String> args) {
        byte[] random = new byte[4];
        new SecureRandom().nextBytes(random);
        String suffix = String.format("%02x%02x%02x%02x", random[0], random[1], random[2], random[3]);
        String table = ident("compat_jdbc_" + suffix);
        String victim = ident(args.get("drop-table") != null ? args.get("drop-table") : "compat_jdbc_victim_" + suffix);

        Properties props = new Properties();
        if (args.get("user") != null) {
            props.setProperty("user", args.get("user"));
        }
        if (args.get("password") != null) {
            props.setProperty("password", args.get("password"));
        }
        props.setProperty("sslmode", args.get("sslmode"));
        if (System.getenv("PGSSLROOTCERT") != null) {
            props.setProperty("sslrootcert", System.getenv("PGSSLROOTCERT"));
        }
        // Use a server-side prepared statement from the first execution, so the prepared step really names one.
        props.setProperty("prepareThreshold", "1");
        props.setProperty("ApplicationName", "sluice-compat-jdbc");
        String url = "jdbc:postgresql://" + args.get("host") + ":" + args.get("port") + "/"
                + (args.get("dbname") == null ? "" : args.get("dbname"));

        Connection conn;
        try {
            conn = DriverManager.getConnection(url, props);
        } catch (SQLException err) {
            report("connect", "error", err.getSQLState(), null, "ok", false, firstLine(err.getMessage()));
            return 1;
        }
        report("connect", "ok", null, null, "ok", true, "");

        Step selectOne = () -> {
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT 1 AS one")) {
                long rows = 0;
                boolean ok = true;
                while (rs.next()) {
                    rows++;
                    ok = ok && rs.getInt(1) == 1;
                }
                return new Observed(rows, ok && rows == 1, "");
            }
        };
        run("select", "ok", selectOne);

        run("create_table", "ok", () -> {
            try (Statement st = conn.createStatement()) {
                st.execute("CREATE TABLE " + table + " (id int PRIMARY KEY, name text, card_number text)");
                if (args.get("drop-table") == null) {
                    st.execute("CREATE TABLE " + victim + " (id int)");
                }
            }
            return new Observed(null, true, table);
        });

        run("insert", "ok", () -> {
            long total = 0;
            String sql = "INSERT INTO " + table + " (id, name, card_number) VALUES (?, ?, ?)";
            Object[][] rows = {{1, "alice", CARD}, {2, "bob", null}, {3, "carol", null}};
            try (PreparedStatement ps = conn.prepareStatement(sql)) {
                for (Object[] row : rows) {
                    ps.setInt(1, (Integer) row[0]);
                    ps.setString(2, (String) row[1]);
                    ps.setString(3, (String) row[2]);
                    total += ps.executeUpdate();
                }
            }
            return new Observed(total, total == 3, "");
        });

        run("prepared", "ok", () -> {
            List<String> names = new ArrayList<>();
            try (PreparedStatement ps = conn.prepareStatement("SELECT name FROM " + table + " WHERE id = ?")) {
                for (int key = 1; key <= 3; key++) {
                    ps.setInt(1, key);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            names.add(rs.getString(1));
                        }
                    }
                }
            }
            return new Observed((long) names.size(), names.equals(List.of("alice", "bob", "carol")),
                    "names=" + names);
        });

        run("masked_card", "ok", () -> {
            List<String> values = new ArrayList<>();
            try (Statement st = conn.createStatement();
                    ResultSet rs = st.executeQuery("SELECT card_number FROM " + table + " WHERE id = 1")) {
                while (rs.next()) {
                    values.add(rs.getString(1));
                }
            }
            return cardCheck(values, args.get("expect-card"));
        });

        CopyManager copy;
        try {
            copy = conn.unwrap(PGConnection.class).getCopyAPI();
        } catch (SQLException err) {
            report("copy_in", "error", err.getSQLState(), null, "ok", false, firstLine(err.getMessage()));
            return 1;
        }
        run("copy_in", "ok", () -> {
            StringBuilder data = new StringBuilder();
            for (int key = 100; key < 200; key++) {
                data.append(key).append("\tcopied-").append(key).append("\t\\N\n");
            }
            long rows = copy.copyIn("COPY " + table + " (id, name, card_number) FROM STDIN",
                    new StringReader(data.toString()));
            return new Observed(rows, rows == 100, "");
        });

        run("copy_out", "ok", () -> {
            StringWriter out = new StringWriter();
            copy.copyOut("COPY (SELECT id, name FROM " + table + " ORDER BY id) TO STDOUT", out);
            long rows = out.toString().lines().filter(line -> !line.isEmpty()).count();
            return new Observed(rows, rows == 103, "");
        });

        String drop = "DROP TABLE " + victim;
        String expectDrop = args.get("expect-drop");
        if (!expectDrop.equals("skip")) {
            run("drop_table", expectDrop.equals("refused") ? "42501" : "ok", () -> {
                try (Statement st = conn.createStatement()) {
                    st.execute(drop);
                }
                return new Observed(null, true, "");
            });
        }
        run("after_refusal", "ok", selectOne);

        run("tx_rollback", "ok", () -> {
            conn.setAutoCommit(false);
            String detail = "no refusal expected";
            try (Statement st = conn.createStatement()) {
                st.executeUpdate("INSERT INTO " + table + " (id, name) VALUES (1000, 'in-tx')");
                if (expectDrop.equals("refused")) {
                    detail = txRefusal(st, drop);
                }
            } finally {
                conn.rollback();
                conn.setAutoCommit(true);
            }
            long left;
            try (Statement st = conn.createStatement();
                    ResultSet rs = st.executeQuery("SELECT count(*) FROM " + table + " WHERE id = 1000")) {
                rs.next();
                left = rs.getLong(1);
            }
            return new Observed(left, left == 0 && !detail.startsWith("FAIL"), detail);
        });

        cancel(conn);
        run("after_cancel", "ok", selectOne);
        try {
            conn.close();
        } catch (SQLException err) {
            // Closing a connection whose steps already reported cannot change the result.
        }
        return allPassed ? 0 : 1;
    }

    private static Observed cardCheck(List<String> values, String expectation) {
        if (values.size() != 1) {
            return new Observed((long) values.size(), false, "expected exactly one row");
        }
        String value = values.get(0);
        if (expectation.equals("raw")) {
            boolean raw = CARD.equals(value);
            return new Observed(1L, raw, raw ? "raw value returned" : "value differs from the raw number");
        }
        boolean masked = value != null && !value.equals(CARD) && !value.contains(CARD);
        return new Observed(1L, masked, masked ? "masked" : "the raw card number came back unmasked");
    }

    /** Inside an open transaction: the DROP must fail with 42501, then the transaction is aborted (25P02). */
    private static String txRefusal(Statement st, String drop) {
        try {
            st.execute(drop);
            return "FAIL: the DROP inside the transaction was not refused";
        } catch (SQLException err) {
            if (!"42501".equals(err.getSQLState())) {
                return "FAIL: DROP gave " + err.getSQLState() + ", expected 42501";
            }
        }
        try {
            st.execute("SELECT 1");
            return "FAIL: the transaction was not left aborted after the refusal";
        } catch (SQLException err) {
            if (!"25P02".equals(err.getSQLState())) {
                return "FAIL: SELECT after the refusal gave " + err.getSQLState() + ", expected 25P02";
            }
        }
        return "refused with 42501, transaction aborted (25P02), rolled back";
    }

    /** Statement.cancel() from another thread: pgJDBC opens a new connection and sends a CancelRequest. */
    private void cancel(Connection conn) {
        long started = System.nanoTime();
        try (Statement st = conn.createStatement()) {
            Thread canceller = new Thread(() -> {
                try {
                    Thread.sleep(CANCEL_AFTER_MS);
                    st.cancel();
                } catch (InterruptedException | SQLException err) {
                    // The step below reports the sleep as not cancelled.
                }
            });
            canceller.start();
            try {
                st.execute("SELECT pg_sleep(30)");
                long elapsed = (System.nanoTime() - started) / 1_000_000;
                report("cancel", "ok", null, 1L, "57014", false, "not cancelled, elapsed_ms=" + elapsed);
            } catch (SQLException err) {
                long elapsed = (System.nanoTime() - started) / 1_000_000;
                boolean pass = "57014".equals(err.getSQLState()) && elapsed < CANCEL_LIMIT_MS;
                report("cancel", "error", err.getSQLState(), null, "57014", pass, "elapsed_ms=" + elapsed);
            }
            canceller.join();
        } catch (SQLException | InterruptedException err) {
            report("cancel", "error", null, null, "57014", false, err.toString());
        }
    }
}
