//! Many shops, one hub.
//!
//! Each shop's SheetSight (the edge) keeps every change to its history in an outbox
//! (`sheetsight_store::outbox`) and sends it to the hub's broker ([`uplink`]); the hub
//! stores each change exactly once into PostgreSQL and acknowledges it ([`ingest`]).
//! [`topics`] is the protocol between them; [`connection`] the reconnecting MQTT client
//! both use.

pub mod connection;
pub mod ingest;
pub mod mosquitto_files;
pub mod topics;
pub mod uplink;
