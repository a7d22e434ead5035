//! How a protocol message travels between hosted nodes: the sender's id and the message,
//! encoded as MessagePack, sent as one tagged `Endpoint` datagram.

use serde::Serialize;
use serde::de::DeserializeOwned;
use syncsim_sim::NodeId;

/// The endpoint tag of protocol messages.
pub const TAG: u64 = 0x5359_4e43; // "SYNC"

/// Largest encoded message the host carries; a larger one ends the run with an error rather
/// than arriving cut short (madsim's TCP endpoint frames at most 8 MiB, tag included).
pub const MAX_MESSAGE: usize = (8 << 20) - 64;

/// A message that could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The bytes do not decode as this protocol's message.
    #[error("a message from the network does not decode: {0}")]
    Decode(#[from] rmp_serde::decode::Error),
    /// The message filled the receive buffer, so it may have been cut short.
    #[error("a message of {0} bytes or more exceeds the {MAX_MESSAGE}-byte limit")]
    TooLarge(usize),
}

/// Encodes `msg` from `from`.
pub fn encode<M: Serialize>(from: NodeId, msg: &M) -> Vec<u8> {
    rmp_serde::to_vec(&(from.0, msg)).expect("protocol messages encode: plain data, no I/O")
}

/// Decodes what [`encode`] wrote; `len` is how much of the buffer the datagram filled.
pub fn decode<M: DeserializeOwned>(buf: &[u8], len: usize) -> Result<(NodeId, M), WireError> {
    if len >= buf.len() {
        return Err(WireError::TooLarge(len));
    }
    let (from, msg): (u32, M) = rmp_serde::from_slice(&buf[..len])?;
    Ok((NodeId(from), msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_round_trips_with_its_sender() {
        let msg = (7u64, vec![String::from("a"), String::from("b")], Some(2.5f64));
        let bytes = encode(NodeId(3), &msg);
        let mut buf = vec![0u8; 64];
        buf[..bytes.len()].copy_from_slice(&bytes);
        let (from, back): (NodeId, (u64, Vec<String>, Option<f64>)) = decode(&buf, bytes.len()).unwrap();
        assert_eq!((from, back), (NodeId(3), msg));
    }

    #[test]
    fn client_operations_round_trip_although_internally_tagged() {
        use syncsim_sim::Op;
        let ops = vec![Op::Put { key: 3, value: 9 }, Op::Get { key: 1 }];
        let bytes = encode(NodeId(1), &ops);
        let mut buf = vec![0u8; 256];
        buf[..bytes.len()].copy_from_slice(&bytes);
        let (_, back): (NodeId, Vec<Op>) = decode(&buf, bytes.len()).unwrap();
        assert_eq!(back, ops);
    }

    #[test]
    fn a_full_buffer_is_refused_as_possibly_cut_short() {
        let buf = vec![0u8; 8];
        assert!(matches!(decode::<u64>(&buf, 8), Err(WireError::TooLarge(8))));
        assert!(matches!(decode::<String>(&[200, 1, 0][..], 2), Err(WireError::Decode(_))));
    }
}
