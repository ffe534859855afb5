//! Sockets forwarded to the host proxy over the "net" channel
//! (`lamina_proto::net`): the transport for AF_INET and AF_INET6 sockets
//! whose addresses lie outside the guest's loopback.

use lamina_proto::channel::{ChannelError, Frame};

/// A message from the host on the net channel (`crate::channel` calls
/// this). No socket is forwarded yet, so every message is unexpected.
pub fn receive(frame: Frame<'_>) -> Result<(), ChannelError> {
    Err(ChannelError::UnknownType(frame.msg_type))
}
