//! A hybrid logical clock (Kulkarni et al., "Logical physical clocks", OPODIS 2014), packed in
//! one `u64`: the physical part in milliseconds in the high 48 bits, the logical counter in the
//! low 16. Timestamps never go backwards, stay close to the node's physical clock, and order
//! every update after everything its node had seen, whatever the clocks' skew.

/// A node's hybrid logical clock.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Hlc(u64);

impl Hlc {
    /// A timestamp for a new local event at physical time `now_ms`: past every timestamp seen.
    pub fn tick(&mut self, now_ms: u64) -> u64 {
        // When the logical counter runs out in one millisecond, it carries into the physical
        // part, which only moves the clock a millisecond ahead.
        self.0 = (self.0 + 1).max(now_ms << 16);
        self.0
    }

    /// Takes in a timestamp from another node, so that later ticks come after it.
    pub fn observe(&mut self, ts: u64) {
        self.0 = self.0.max(ts);
    }

    /// The latest timestamp issued or seen.
    pub fn latest(self) -> u64 {
        self.0
    }

    /// The physical part of a timestamp, in milliseconds.
    pub fn physical_ms(ts: u64) -> u64 {
        ts >> 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_follow_the_physical_clock_and_never_go_back() {
        let mut c = Hlc::default();
        let a = c.tick(5);
        assert_eq!(Hlc::physical_ms(a), 5);
        let b = c.tick(5);
        assert!(b > a, "same millisecond: the logical counter moves");
        // A clock that went back still moves forward.
        let d = c.tick(3);
        assert!(d > b);
        // A timestamp from a node whose clock is ahead pulls this one along.
        c.observe(100 << 16);
        let e = c.tick(6);
        assert!(e > 100 << 16 && Hlc::physical_ms(e) == 100);
        // Once the physical clock passes it, timestamps follow the physical clock again.
        assert_eq!(c.tick(200), 200 << 16);
    }
}
