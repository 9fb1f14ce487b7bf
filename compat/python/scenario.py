#!/usr/bin/env python3
"""sluice compatibility scenario for psycopg 3: one JSON line per step (see compat/README.md).

Connection parameters are libpq's (flags or PG* environment variables); the expectations say what the target should do
with the DROP and the card number, so the same script checks a direct server and the sluice gateway.
"""

import argparse
import json
import os
import secrets
import sys
import threading
import time

import psycopg
from psycopg import sql

CLIENT = "psycopg"
# A Luhn-valid test card number (Visa's documented test number): masking detectors must recognise it.
CARD = "4111111111111111"
CANCEL_AFTER_S = 0.5
CANCEL_LIMIT_S = 5.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--port", default=os.environ.get("PGPORT", "5432"))
    parser.add_argument("--user", default=os.environ.get("PGUSER"))
    parser.add_argument("--password", default=os.environ.get("PGPASSWORD"))
    parser.add_argument("--dbname", default=os.environ.get("PGDATABASE"))
    parser.add_argument("--sslmode", default=os.environ.get("PGSSLMODE", "prefer"))
    parser.add_argument("--expect-drop", choices=["refused", "allowed", "skip"], default="refused")
    parser.add_argument("--expect-card", choices=["masked", "raw"], default="masked")
    parser.add_argument("--drop-table", default=None)
    return parser.parse_args()


class Reporter:
    """Prints one JSON line per step and remembers whether all passed."""

    def __init__(self):
        self.all_passed = True

    def step(self, name, outcome, sqlstate, rows, expected, passed, detail=""):
        self.all_passed = self.all_passed and passed
        line = {
            "client": CLIENT,
            "step": name,
            "outcome": outcome,
            "sqlstate": sqlstate,
            "rows": rows,
            "expected": expected,
            "pass": passed,
            "detail": detail,
        }
        print(json.dumps(line), flush=True)

    def run(self, name, action, expected="ok"):
        """Runs action() -> (rows, check_ok, detail); an exception is an error outcome with its SQLSTATE."""
        try:
            rows, check_ok, detail = action()
        except psycopg.Error as err:
            state = err.sqlstate
            self.step(name, "error", state, None, expected, state == expected, first_line(err))
            return False
        self.step(name, "ok", None, rows, expected, expected == "ok" and check_ok, detail)
        return expected == "ok" and check_ok


def first_line(err):
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def main():
    args = parse_args()
    report = Reporter()
    suffix = secrets.token_hex(4)
    table = f"compat_py_{suffix}"
    victim = args.drop_table or f"compat_py_victim_{suffix}"
    ident = sql.Identifier(table)

    try:
        conn = psycopg.connect(
            host=args.host,
            port=args.port,
            user=args.user,
            password=args.password,
            dbname=args.dbname,
            sslmode=args.sslmode,
            autocommit=True,
            application_name="sluice-compat-psycopg",
        )
    except psycopg.Error as err:
        report.step("connect", "error", getattr(err, "sqlstate", None), None, "ok", False, first_line(err))
        return 1
    report.step("connect", "ok", None, None, "ok", True, f"server_version={conn.info.server_version}")

    def select_one():
        rows = conn.execute("SELECT 1 AS one").fetchall()
        return len(rows), rows == [(1,)], f"value={rows}"

    report.run("select", select_one)

    def create_table():
        conn.execute(sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, name text, card_number text)").format(ident))
        if args.drop_table is None:
            conn.execute(sql.SQL("CREATE TABLE {} (id int)").format(sql.Identifier(victim)))
        return None, True, table

    report.run("create_table", create_table)

    def insert():
        total = 0
        with conn.cursor() as cur:
            for row in [(1, "alice", CARD), (2, "bob", None), (3, "carol", None)]:
                cur.execute(sql.SQL("INSERT INTO {} (id, name, card_number) VALUES (%s, %s, %s)").format(ident), row)
                total += cur.rowcount
        return total, total == 3, ""

    report.run("insert", insert)

    def prepared():
        names = []
        query = sql.SQL("SELECT name FROM {} WHERE id = %s").format(ident)
        for key in (1, 2, 3):
            # prepare=True: a named server-side statement (Parse once, Bind/Execute per call).
            names.extend(r[0] for r in conn.execute(query, (key,), prepare=True).fetchall())
        return len(names), names == ["alice", "bob", "carol"], f"names={names}"

    report.run("prepared", prepared)

    def masked_card():
        rows = conn.execute(sql.SQL("SELECT card_number FROM {} WHERE id = 1").format(ident)).fetchall()
        return card_check(rows, args.expect_card)

    report.run("masked_card", masked_card)

    def copy_in():
        with conn.cursor() as cur:
            with cur.copy(sql.SQL("COPY {} (id, name, card_number) FROM STDIN").format(ident)) as copy:
                for key in range(100, 200):
                    copy.write_row((key, f"copied-{key}", None))
            return cur.rowcount, cur.rowcount == 100, ""

    report.run("copy_in", copy_in)

    def copy_out():
        count = 0
        with conn.cursor() as cur:
            with cur.copy(sql.SQL("COPY (SELECT id, name FROM {} ORDER BY id) TO STDOUT").format(ident)) as copy:
                for _row in copy.rows():
                    count += 1
        return count, count == 103, ""

    report.run("copy_out", copy_out)

    drop = sql.SQL("DROP TABLE {}").format(sql.Identifier(victim))
    expected_drop = {"refused": "42501", "allowed": "ok"}.get(args.expect_drop)
    if expected_drop is not None:
        report.run("drop_table", lambda: (conn.execute(drop), (None, True, ""))[1], expected_drop)
    report.run("after_refusal", select_one)

    def tx_rollback():
        conn.execute("BEGIN")
        conn.execute(sql.SQL("INSERT INTO {} (id, name) VALUES (1000, 'in-tx')").format(ident))
        detail = "no refusal expected"
        if args.expect_drop == "refused":
            detail = tx_refusal(conn, drop)
        conn.execute("ROLLBACK")
        left = conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE id = 1000").format(ident)).fetchone()[0]
        ok = left == 0 and not detail.startswith("FAIL")
        return left, ok, detail

    report.run("tx_rollback", tx_rollback)

    def cancel():
        timer = threading.Timer(CANCEL_AFTER_S, conn.cancel)
        started = time.monotonic()
        timer.start()
        try:
            conn.execute("SELECT pg_sleep(30)")
        except psycopg.errors.QueryCanceled as err:
            elapsed = time.monotonic() - started
            report.step("cancel", "error", err.sqlstate, None, "57014", elapsed < CANCEL_LIMIT_S,
                        f"elapsed_ms={int(elapsed * 1000)}")
            return
        except psycopg.Error as err:
            report.step("cancel", "error", err.sqlstate, None, "57014", False, first_line(err))
            return
        finally:
            timer.cancel()
        elapsed = time.monotonic() - started
        report.step("cancel", "ok", None, 1, "57014", False, f"not cancelled, elapsed_ms={int(elapsed * 1000)}")

    cancel()
    report.run("after_cancel", select_one)
    conn.close()
    return 0 if report.all_passed else 1


def card_check(rows, expectation):
    """The card column read back: masked must not be the raw number (nor contain it); raw must equal it."""
    if len(rows) != 1:
        return len(rows), False, "expected exactly one row"
    value = rows[0][0]
    if expectation == "raw":
        return 1, value == CARD, "raw value returned" if value == CARD else "value differs from the raw number"
    masked = value is not None and value != CARD and CARD not in value
    return 1, masked, "masked" if masked else "the raw card number came back unmasked"


def tx_refusal(conn, drop):
    """Inside an open transaction: the DROP must fail with 42501, then the transaction is aborted (25P02)."""
    try:
        conn.execute(drop)
        return "FAIL: the DROP inside the transaction was not refused"
    except psycopg.Error as err:
        if err.sqlstate != "42501":
            return f"FAIL: DROP gave {err.sqlstate}, expected 42501"
    try:
        conn.execute("SELECT 1")
        return "FAIL: the transaction was not left aborted after the refusal"
    except psycopg.Error as err:
        if err.sqlstate != "25P02":
            return f"FAIL: SELECT after the refusal gave {err.sqlstate}, expected 25P02"
    return "refused with 42501, transaction aborted (25P02), rolled back"


if __name__ == "__main__":
    sys.exit(main())
