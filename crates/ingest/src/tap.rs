//! A tap on a camera's stream: every packet the camera sends, before analysis and before
//! the worker's queue may drop any (the recorder listens here).

use crate::source::Packet;

/// Receives what a camera sends. Must never block: a tap that cannot keep up drops and
/// says so itself.
pub trait PacketTap: Send + Sync {
    fn packet(&self, packet: &Packet);

    /// The connection ended; the next packet starts a new stream.
    fn broken(&self);
}
