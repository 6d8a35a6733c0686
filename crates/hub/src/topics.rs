//! The hub's topics and messages on the broker.
//!
//! | Topic | From → to | QoS, retained | Payload |
//! |---|---|---|---|
//! | `sheetsight/hub/v1/<shop>/batch` | edge → hub | 1, no | [`Batch`] |
//! | `sheetsight/hub/v1/<shop>/ack` | hub → edge | 1, yes | [`Ack`] |
//! | `sheetsight/hub/v1/<shop>/edge` | edge → anyone | 1, yes | `online` or `offline` (its will) |
//! | `spBv1.0/STATE/<host id>` | hub → Sparkplug edges | 1, yes | `{"online": bool, "timestamp": ms}` |
//!
//! Hub processes subscribe to batches through the shared subscription
//! [`SHARED_BATCHES`], so that any number of them divide the edges' batches between them.
//! A broker's ACL can confine an edge to `sheetsight/hub/v1/<its shop>/#`.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

pub const ROOT: &str = "sheetsight/hub/v1";
/// The hubs' shared subscription to every shop's batches.
pub const SHARED_BATCHES: &str = "$share/sheetsight-hub/sheetsight/hub/v1/+/batch";
/// A batch larger than this is refused by the hub (the edge sends at most 256 KiB).
pub const MAX_BATCH_BYTES: usize = 8 << 20;

pub fn batch(shop: &str) -> String {
    format!("{ROOT}/{shop}/batch")
}

pub fn ack(shop: &str) -> String {
    format!("{ROOT}/{shop}/ack")
}

pub fn edge(shop: &str) -> String {
    format!("{ROOT}/{shop}/edge")
}

/// Sparkplug B's primary host state topic (3.0).
pub fn sparkplug_state(host_id: &str) -> String {
    format!("spBv1.0/STATE/{host_id}")
}

/// The shop of a batch topic, if it is one.
pub fn shop_of_batch(topic: &str) -> Option<&str> {
    let shop = topic.strip_prefix(ROOT)?.strip_prefix('/')?.strip_suffix("/batch")?;
    (!shop.is_empty() && !shop.contains('/')).then_some(shop)
}

/// Rows of an edge's outbox, in sequence order.
#[derive(Debug, Serialize, Deserialize)]
pub struct Batch<'a> {
    /// The epoch of the edge's database.
    pub epoch: String,
    /// The highest sequence the edge has forgotten because the hub acknowledged it: a hub
    /// whose watermark is lower lost what it had acknowledged (a restored backup), and
    /// cannot ask for it again.
    pub acked: i64,
    /// The batch reached the end of the edge's outbox: the edge is up to date, and the
    /// hub stores it before batches of edges catching up.
    #[serde(default)]
    pub live: bool,
    /// `[seq, change]` pairs; the change is the outbox's JSON as stored.
    #[serde(borrow)]
    pub rows: Vec<(i64, &'a RawValue)>,
}

/// The hub's answer to an edge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub epoch: String,
    /// The highest contiguous sequence stored.
    pub seq: i64,
    /// Something after `seq` is missing: send again from `seq + 1`.
    #[serde(default)]
    pub replay: bool,
}

/// Writes a batch of raw outbox rows without parsing them again.
pub fn encode_batch(epoch: &str, acked: i64, live: bool, rows: &[sheetsight_store::outbox::OutboxRow]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + rows.iter().map(|r| r.body.len() + 24).sum::<usize>());
    out.extend_from_slice(b"{\"epoch\":");
    out.extend_from_slice(serde_json::to_string(epoch).unwrap_or_default().as_bytes());
    out.extend_from_slice(format!(",\"acked\":{acked},\"live\":{live},\"rows\":[").as_bytes());
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(format!("[{},", r.seq).as_bytes());
        out.extend_from_slice(r.body.as_bytes());
        out.push(b']');
    }
    out.extend_from_slice(b"]}");
    out
}

#[cfg(test)]
mod tests {
    use sheetsight_store::outbox::OutboxRow;

    use super::*;

    #[test]
    fn a_batch_round_trips_and_topics_name_their_shop() {
        let rows = [
            OutboxRow { seq: 7, body: r#"{"op":"end_run","run":1,"now":5}"#.into() },
            OutboxRow { seq: 8, body: r#"{"op":"dropped","strokes":3}"#.into() },
        ];
        let bytes = encode_batch("e\"1", 6, true, &rows);
        let batch: Batch<'_> = serde_json::from_slice(&bytes).expect("a batch");
        assert_eq!((batch.epoch.as_str(), batch.acked, batch.live), ("e\"1", 6, true));
        let got: Vec<(i64, &str)> = batch.rows.iter().map(|(s, r)| (*s, r.get())).collect();
        assert_eq!(got, [(7, rows[0].body.as_str()), (8, rows[1].body.as_str())]);
        assert_eq!(shop_of_batch(&batch_topic_of("shop-1")), Some("shop-1"));
        assert_eq!(shop_of_batch("sheetsight/hub/v1/a/b/batch"), None);
        assert_eq!(shop_of_batch("sheetsight/hub/v1//batch"), None);
        assert_eq!(shop_of_batch("sheetsight/hub/v1/a/ack"), None);
    }

    fn batch_topic_of(shop: &str) -> String {
        batch(shop)
    }
}
