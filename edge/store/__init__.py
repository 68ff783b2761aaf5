"""The station's SQLite store: tables, migrations, connections and the transactional outbox."""
