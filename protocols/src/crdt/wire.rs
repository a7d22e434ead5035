//! Encoded sizes, as a compact binary encoding would give them: integers as LEB128 varints
//! (7 bits a byte, as protobuf, Automerge and Yjs encode them), a one-byte tag per message.

/// Bytes of `x` as a LEB128 varint.
pub fn varint(x: u64) -> usize {
    (64 - (x | 1).leading_zeros() as usize).div_ceil(7)
}

/// A message's tag.
pub const TAG: usize = 1;

#[cfg(test)]
mod tests {
    #[test]
    fn varints_take_a_byte_per_seven_bits() {
        assert_eq!(super::varint(0), 1);
        assert_eq!(super::varint(127), 1);
        assert_eq!(super::varint(128), 2);
        assert_eq!(super::varint(u64::MAX), 10);
    }
}
