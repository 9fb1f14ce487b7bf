//! PostgreSQL classification with pg_query (the server's own parser). Being built.
