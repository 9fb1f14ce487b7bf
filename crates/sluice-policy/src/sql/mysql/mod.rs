//! MySQL / MariaDB classification: a MySQL-correct lexer feeding sqlparser. Being built.
