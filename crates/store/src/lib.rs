//! Durable storage behind one `Store` trait, with an embedded SQLite backend (the default) and a
//! PostgreSQL backend (clusters). The store knows the shape of the data, not the engine's rules.
