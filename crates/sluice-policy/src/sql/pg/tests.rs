use super::*;

#[test]
fn smoke() {
    for sql in [
        "SELECT 1",
        "select * from users where id = 1; DROP TABLE public.users CASCADE",
        "WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d",
        "DELETE FROM t WHERE 1=1",
        "update t set a = 1",
        "EXPLAIN ANALYZE DELETE FROM t",
        "EXPLAIN DELETE FROM t",
        "COPY t TO PROGRAM 'curl x'",
        "select nextval('s')",
        "select my_func(1)",
        "DO $$ begin drop table x; end $$",
        "\\! rm -rf /",
        "SET ROLE admin",
        "DROP TABLE U&\"d\\0061ta\"",
        "SELCT 1",
        "   -- only a comment",
        "DELETE FROM a USING b WHERE b.x = 1",
        "ALTER TABLE t DROP COLUMN c",
        "SELECT * INTO newt FROM t",
        "CREATE RULE r AS ON INSERT TO t DO INSTEAD DELETE FROM u",
        "PREPARE p AS DELETE FROM t",
        "EXECUTE p",
    ] {
        let c = classify(sql);
        println!("{sql}\n  {:?}\n", c.items.iter().map(|i| (i.index, &i.span, i.kind, &i.tag, i.findings.iter().map(|f| (f.category, &f.detail, &f.span)).collect::<Vec<_>>(), &i.objects)).collect::<Vec<_>>());
    }
}
