//! Many shops, one hub.
//!
//! Each shop's SheetSight (the edge) keeps every change to its history in an outbox
//! (`sheetsight_store::outbox`) and sends it to the hub's broker ([`uplink`]); the hub
//! stores each change exactly once into PostgreSQL and acknowledges it ([`ingest`]).
//! [`topics`] is the protocol between them; [`connection`] the reconnecting MQTT client
//! both use. Without a broker, [`direct`] puts the outbox straight into the hub's
//! database through the same ingest.

pub mod connection;
pub mod direct;
pub mod ingest;
pub mod mosquitto_files;
pub mod topics;
pub mod uplink;
