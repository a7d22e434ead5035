//! The search for a linearization of one partition: Wing & Gong's algorithm with Lowe's
//! just-in-time linearization and memoisation of (linearized set, state) pairs, as in
//! Porcupine.
//!
//! The history is a list of call and return events in time order. Walking it, the search tries
//! to linearize each pending call; a return whose call is not yet linearized means the choices
//! so far cannot work, so it backtracks. A (set of linearized operations, state) pair seen
//! before is never explored twice, which is what makes the search practical.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::model::{FxHasher, Model, Step, mix};
use super::{Operation, Outcome, Stuck};

/// A hasher for keys that are already well-mixed hashes: it passes them through.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
}

const NONE: u32 = u32::MAX;

/// One call or return event in the doubly linked event list.
#[derive(Copy, Clone, Debug)]
struct Event {
    op: u32,
    is_call: bool,
    /// For a call, its return event.
    partner: u32,
    prev: u32,
    next: u32,
}

/// The (linearized set, state) pairs already explored: an arena of bitsets, chained by hash.
struct Seen {
    words: usize,
    bits: Vec<u64>,
    states: Vec<u32>,
    chain: Vec<u32>,
    heads: HashMap<u64, u32, BuildHasherDefault<PassThrough>>,
}

impl Seen {
    fn new(words: usize) -> Seen {
        Seen { words, bits: Vec::new(), states: Vec::new(), chain: Vec::new(), heads: HashMap::default() }
    }

    fn len(&self) -> usize {
        self.states.len()
    }

    /// Records the pair; false if it was already there.
    fn insert(&mut self, hash: u64, set: &[u64], state: u32) -> bool {
        use std::collections::hash_map::Entry;
        let id = self.states.len() as u32;
        let head = match self.heads.entry(hash) {
            Entry::Vacant(slot) => {
                slot.insert(id);
                NONE
            }
            Entry::Occupied(mut slot) => {
                let mut i = *slot.get();
                while i != NONE {
                    let at = i as usize;
                    // The state first: one number, and most often what differs.
                    if self.states[at] == state
                        && self.bits[at * self.words..(at + 1) * self.words].iter().zip(set).all(|(a, b)| a == b)
                    {
                        return false;
                    }
                    i = self.chain[at];
                }
                std::mem::replace(slot.get_mut(), id)
            }
        };
        self.bits.extend_from_slice(set);
        self.states.push(state);
        self.chain.push(head);
        true
    }

    /// Bytes held, roughly: what the budget counts.
    fn bytes(&self) -> usize {
        self.len() * (self.words * 8 + 4 + 4 + 16)
    }
}

/// Model states by number, so that the seen-set stores a number, not a state.
struct Interner<S> {
    states: Vec<S>,
    ids: HashMap<S, u32, BuildHasherDefault<FxHasher>>,
    /// Bytes the states hold, by the model's own count (the list and the index share what a
    /// state points to: its clone is a second handle, not a second copy).
    bytes: usize,
}

impl<S: Clone + Eq + std::hash::Hash> Interner<S> {
    fn id<M: Model<State = S>>(&mut self, model: &M, s: S) -> u32 {
        if let Some(&id) = self.ids.get(&s) {
            return id;
        }
        let id = self.states.len() as u32;
        self.bytes += model.state_bytes(&s) + std::mem::size_of::<S>() + 16;
        self.states.push(s.clone());
        self.ids.insert(s, id);
        id
    }
}

/// How many steps the search takes between two calls of its watcher.
const WATCH_EVERY: u32 = 1 << 16;

/// Searches one partition, giving up once the seen-set holds more than `max_bytes`, or when
/// `watch` (called every [`WATCH_EVERY`] steps with the states explored so far) says stop.
pub(super) fn search<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    max_bytes: usize,
    watch: &mut dyn FnMut(u64) -> Result<(), String>,
) -> Outcome {
    let n = ops.len();
    // Events in time order; calls before returns at the same instant (they overlap).
    let mut order: Vec<(u64, bool, u32)> = Vec::with_capacity(2 * n);
    for (i, op) in ops.iter().enumerate() {
        order.push((op.call, false, i as u32));
        // A return is never before its call (a malformed history is read as if it were not).
        order.push((op.ret.unwrap_or(u64::MAX).max(op.call), true, i as u32));
    }
    order.sort();
    // Index 0 is a sentinel head.
    let mut events = vec![Event { op: NONE, is_call: false, partner: NONE, prev: NONE, next: 1 }];
    let mut call_at = vec![NONE; n];
    for (k, &(_, is_return, op)) in order.iter().enumerate() {
        let idx = k as u32 + 1;
        events.push(Event { op, is_call: !is_return, partner: NONE, prev: idx - 1, next: idx + 1 });
        if is_return {
            let c = call_at[op as usize];
            events[c as usize].partner = idx;
        } else {
            call_at[op as usize] = idx;
        }
    }
    let last = events.len() - 1;
    events[last].next = NONE;

    let words = n.div_ceil(64).max(1);
    let zobrist: Vec<u64> = (0..n as u64).map(|i| mix(i.wrapping_add(0x1234_5678))).collect();
    let mut interner = Interner { states: Vec::new(), ids: HashMap::default(), bytes: 0 };
    let mut state = interner.id(model, model.init());
    let mut set = vec![0u64; words];
    let mut set_hash = 0u64;
    let mut seen = Seen::new(words);
    let mut stack: Vec<(u32, u32)> = Vec::new(); // (call event, state before it)
    let mut best: Vec<u32> = Vec::new();
    let mut stuck_op = NONE;
    let mut stuck_depth = usize::MAX;

    let lift = |events: &mut Vec<Event>, e: u32| {
        let call = events[e as usize];
        events[call.prev as usize].next = call.next;
        if call.next != NONE {
            events[call.next as usize].prev = call.prev;
        }
        let ret = events[call.partner as usize];
        events[ret.prev as usize].next = ret.next;
        if ret.next != NONE {
            events[ret.next as usize].prev = ret.prev;
        }
    };
    let unlift = |events: &mut Vec<Event>, e: u32| {
        let call = events[e as usize];
        let ret = events[call.partner as usize];
        events[ret.prev as usize].next = call.partner;
        if ret.next != NONE {
            events[ret.next as usize].prev = call.partner;
        }
        events[call.prev as usize].next = e;
        if call.next != NONE {
            events[call.next as usize].prev = e;
        }
    };

    let mut cursor = events[0].next;
    let mut steps = 0u32;
    while events[0].next != NONE {
        steps = steps.wrapping_add(1);
        if steps.is_multiple_of(WATCH_EVERY)
            && let Err(reason) = watch(seen.len() as u64)
        {
            return Outcome::Stopped { explored: seen.len() as u64, reason };
        }
        // The list always ends with a return, which either backtracks or was lifted with its
        // call, so the cursor never runs off the end.
        let ev = events[cursor as usize];
        if ev.is_call {
            let op = &ops[ev.op as usize];
            let next_state = match model.step(&interner.states[state as usize], &op.input, op.output.as_ref()) {
                Step::Illegal => None,
                Step::Same => Some(state),
                Step::Next(s) => Some(interner.id(model, s)),
            };
            if let Some(next_state) = next_state {
                let bit = ev.op as usize;
                set[bit / 64] |= 1 << (bit % 64);
                let hash = set_hash ^ zobrist[bit];
                if seen.insert(hash ^ mix(u64::from(next_state)), &set, next_state) {
                    stack.push((cursor, state));
                    state = next_state;
                    set_hash = hash;
                    lift(&mut events, cursor);
                    if stack.len() > best.len() {
                        best = stack.iter().map(|&(e, _)| events[e as usize].op).collect();
                    }
                    cursor = events[0].next;
                    if seen.bytes() + interner.bytes > max_bytes {
                        return Outcome::Budget { explored: seen.len() as u64 };
                    }
                    continue;
                }
                set[bit / 64] &= !(1 << (bit % 64));
            }
            cursor = ev.next;
        } else {
            // A return whose call is not linearized: the choices so far cannot work.
            if stack.len() == best.len() && stuck_depth != best.len() {
                // The first operation that could not be placed after the longest prefix.
                stuck_op = ev.op;
                stuck_depth = best.len();
            }
            let Some((call, before)) = stack.pop() else {
                return Outcome::Violation(Stuck {
                    prefix: best.iter().map(|&i| i as usize).collect(),
                    stuck: if stuck_op == NONE { ev.op as usize } else { stuck_op as usize },
                    explored: seen.len() as u64,
                });
            };
            let bit = events[call as usize].op as usize;
            set[bit / 64] &= !(1 << (bit % 64));
            set_hash ^= zobrist[bit];
            state = before;
            unlift(&mut events, call);
            cursor = events[call as usize].next;
        }
    }
    Outcome::Linearizable { explored: seen.len() as u64 }
}
