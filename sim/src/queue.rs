//! The event queue: events ordered by `(time, seq)`, where `seq` counts insertions, so events
//! at the same instant come out in the order they were scheduled.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::SimTime;

/// A heap entry: small, so that sifting moves little; the event itself waits in a slot.
#[derive(Copy, Clone)]
struct Key {
    time: u64,
    seq: u64,
    slot: u32,
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    /// Reversed, so that the max-heap pops the earliest event first.
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// A priority queue of events by time, ties broken by insertion order.
///
/// The heap holds 24-byte keys; events live in a slab of reusable slots, so that large events
/// (protocol messages) are moved once in and once out rather than at every sift.
pub struct EventQueue<E> {
    heap: BinaryHeap<Key>,
    slots: Vec<Option<E>>,
    free: Vec<u32>,
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue { heap: BinaryHeap::new(), slots: Vec::new(), free: Vec::new(), seq: 0 }
    }
}

impl<E> EventQueue<E> {
    /// Schedules `event` at `time`.
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(event);
                slot
            }
            None => {
                self.slots.push(Some(event));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 pending events")
            }
        };
        self.heap.push(Key { time: time.0, seq: self.seq, slot });
        self.seq += 1;
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let key = self.heap.pop()?;
        let event = self.slots[key.slot as usize].take().expect("a queued slot holds its event");
        self.free.push(key.slot);
        Some((SimTime(key.time), event))
    }

    /// When the earliest event happens.
    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|k| SimTime(k.time))
    }

    /// Number of scheduled events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_break_in_insertion_order() {
        let mut q = EventQueue::default();
        q.push(SimTime(5), 'c');
        q.push(SimTime(1), 'a');
        q.push(SimTime(5), 'd');
        q.push(SimTime(1), 'b');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['a', 'b', 'c', 'd']);
    }

    #[test]
    fn pops_in_the_same_order_as_a_sorted_reference() {
        use rand_core::Rng;
        let mut rng = crate::rng::Stream::Workload.rng(5);
        let mut q = EventQueue::default();
        let mut reference = std::collections::BTreeSet::new();
        let (mut now, mut seq) = (0u64, 0u64);
        for _ in 0..50_000 {
            // Mostly pushes into the near future, some ties, some far ahead; pops in between.
            if !rng.next_u64().is_multiple_of(3) || reference.is_empty() {
                let t = now
                    + match rng.next_u64() % 4 {
                        0 => 0,
                        1 => rng.next_u64() % 10,
                        2 => rng.next_u64() % 1_000_000,
                        _ => rng.next_u64() % (1 << 40),
                    };
                q.push(SimTime(t), seq);
                reference.insert((t, seq));
                seq += 1;
            } else {
                let (t, s) = reference.pop_first().unwrap();
                assert_eq!(q.peek_time(), Some(SimTime(t)));
                assert_eq!(q.pop(), Some((SimTime(t), s)));
                now = t;
            }
            assert_eq!(q.len(), reference.len());
        }
        while let Some((t, s)) = reference.pop_first() {
            assert_eq!(q.pop(), Some((SimTime(t), s)));
        }
        assert!(q.is_empty() && q.pop().is_none());
    }
}
