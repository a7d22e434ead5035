//! The search for a linearization of one partition: Wing & Gong's algorithm with Lowe's
//! just-in-time linearization and memoisation of (linearized set, state) pairs, as in
//! Porcupine.
//!
//! The history is a list of call and return events in time order. Walking it, the search tries
//! to linearize each pending call; a return whose call is not yet linearized means the choices
//! so far cannot work, so it backtracks. A (set of linearized operations, state) pair seen
//! before is never explored twice, which is what makes the search practical.
//!
//! The budget counts the memo and the distinct model states. The memo holds only the pairs
//! whose every extension failed (a pair on the search's own stack cannot come round again: the
//! set only grows along it), so a history that linearizes without backtracking leaves it nearly
//! empty. It stores a set as a window: with the operations numbered in call order, every one
//! below the lowest unlinearized one (`lo`) is linearized and none past the highest linearized
//! one is, so the set is `lo` and the bits in between. An operation is only ever linearized
//! before `lo` returns, so the window spans the operations overlapping `lo`: an entry's size
//! follows the history's concurrency, not its length. Operations that never returned overlap
//! everything after their call; they are numbered apart, with a window of their own, so that
//! one left pending does not stretch the others' window to the end of the history. The
//! distinct states are at most one per operation; the event list, the stack and the longest
//! prefix (a few words per operation) are not counted.

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

/// The first clear bit of `bits` in `[from, end)`, or `end`.
fn next_clear(bits: &[u64], mut from: usize, end: usize) -> usize {
    while from < end {
        let shift = from % 64;
        let ones = (!(bits[from / 64] >> shift)).trailing_zeros() as usize;
        if ones < 64 - shift {
            return (from + ones).min(end);
        }
        from += 64 - shift;
    }
    end
}

/// The last set bit of `bits` in `[start, below)`, if any.
fn last_set(bits: &[u64], mut below: usize, start: usize) -> Option<usize> {
    while below > start {
        let j = below - 1;
        let word = bits[j / 64] << (63 - j % 64);
        if word != 0 {
            let at = j - word.leading_zeros() as usize;
            return (at >= start).then_some(at);
        }
        below = j - j % 64;
    }
    None
}

/// Operations `[start, end)` of one numbering (in call order): all below `lo` are linearized,
/// `lo` is not, none from `hi` on is.
#[derive(Copy, Clone, Debug)]
struct Part {
    start: usize,
    end: usize,
    lo: usize,
    hi: usize,
}

impl Part {
    fn new(start: usize, end: usize) -> Part {
        Part { start, end, lo: start, hi: start }
    }

    fn window(&self) -> usize {
        self.hi.saturating_sub(self.lo)
    }
}

/// The linearized set: one bit per operation by its number, and the key the memo stores for it.
struct Linearized {
    bits: Vec<u64>,
    /// Zobrist hash of the set.
    hash: u64,
    zobrist: Vec<u64>,
    /// The operations that returned, then those that never did, each in call order.
    parts: [Part; 2],
    /// Whether the key is the whole bitset (for small partitions, where a window key would
    /// usually be no shorter).
    whole: bool,
}

impl Linearized {
    fn new(n: usize, returned: usize, whole: bool) -> Linearized {
        Linearized {
            bits: vec![0; n.div_ceil(64).max(1)],
            hash: 0,
            zobrist: (0..n as u64).map(|i| mix(i.wrapping_add(0x1234_5678))).collect(),
            parts: [Part::new(0, returned), Part::new(returned, n)],
            whole,
        }
    }

    /// Adds operation `i`: O(1) but for moving `lo` past the window.
    fn insert(&mut self, i: usize) {
        self.bits[i / 64] |= 1 << (i % 64);
        self.hash ^= self.zobrist[i];
        let part = &mut self.parts[usize::from(i >= self.parts[1].start)];
        if i == part.lo {
            part.lo = next_clear(&self.bits, i + 1, part.end);
        }
        part.hi = part.hi.max(i + 1);
    }

    /// Removes operation `i`: O(1) but for moving `hi` back across the window.
    fn remove(&mut self, i: usize) {
        self.bits[i / 64] &= !(1 << (i % 64));
        self.hash ^= self.zobrist[i];
        let part = &mut self.parts[usize::from(i >= self.parts[1].start)];
        part.lo = part.lo.min(i);
        if i + 1 == part.hi {
            part.hi = last_set(&self.bits, i, part.start).map_or(part.start, |j| j + 1);
        }
    }

    /// The set, canonically: the first part's `lo` and window length in words, the second
    /// part's `lo` (in one word when they fit), then each window's bits from its `lo` on.
    fn key(&self, out: &mut Vec<u64>) {
        out.clear();
        if self.whole {
            out.extend_from_slice(&self.bits);
            return;
        }
        let [a, b] = self.parts;
        let words = a.window().div_ceil(64) as u64;
        if b.end < 1 << 21 {
            out.push(a.lo as u64 | (b.lo as u64) << 21 | words << 42);
        } else {
            out.push(a.lo as u64 | words << 32);
            out.push(b.lo as u64);
        }
        for part in [a, b] {
            let mut from = part.lo;
            while from < part.hi {
                let (w, shift) = (from / 64, from % 64);
                let mut word = self.bits[w] >> shift;
                if shift != 0 && w + 1 < self.bits.len() {
                    word |= self.bits[w + 1] << (64 - shift);
                }
                if part.hi - from < 64 {
                    word &= (1 << (part.hi - from)) - 1;
                }
                out.push(word);
                from += 64;
            }
        }
    }
}

/// The (linearized set, state) pairs known to have no linearization: an arena of keys from
/// [`Linearized::key`], chained by hash. An entry takes about 40 bytes plus one bit per
/// operation of its window, so the memo's size is the number of dead pairs times (a constant
/// plus the concurrency), whatever the history's length.
struct Seen {
    keys: Vec<u64>,
    /// The length of every key, if they are all alike (whole bitsets), else 0.
    stride: usize,
    /// Otherwise where each entry's key ends in `keys` (it starts where the previous one ends).
    ends: Vec<u32>,
    states: Vec<u32>,
    chain: Vec<u32>,
    heads: HashMap<u64, u32, BuildHasherDefault<PassThrough>>,
}

impl Seen {
    fn new(stride: usize) -> Seen {
        Seen {
            keys: Vec::new(),
            stride,
            ends: Vec::new(),
            states: Vec::new(),
            chain: Vec::new(),
            heads: HashMap::default(),
        }
    }

    fn key(&self, at: usize) -> &[u64] {
        if self.stride > 0 {
            return &self.keys[at * self.stride..(at + 1) * self.stride];
        }
        let start = if at == 0 { 0 } else { self.ends[at - 1] as usize };
        &self.keys[start..self.ends[at] as usize]
    }

    fn contains(&self, hash: u64, key: &[u64], state: u32) -> bool {
        let mut i = self.heads.get(&hash).copied().unwrap_or(NONE);
        while i != NONE {
            let at = i as usize;
            // The state first: one number, and most often what differs.
            if self.states[at] == state && self.key(at) == key {
                return true;
            }
            i = self.chain[at];
        }
        false
    }

    /// Records a pair not already there; false if the arena is full (32 GiB of keys), which
    /// the search takes as over any budget.
    fn insert(&mut self, hash: u64, key: &[u64], state: u32) -> bool {
        let Ok(end) = u32::try_from(self.keys.len() + key.len()) else {
            return false;
        };
        let id = self.states.len() as u32;
        let head = self.heads.insert(hash, id).unwrap_or(NONE);
        self.keys.extend_from_slice(key);
        if self.stride == 0 {
            self.ends.push(end);
        }
        self.states.push(state);
        self.chain.push(head);
        true
    }

    /// Bytes held, roughly: what the budget counts.
    fn bytes(&self) -> usize {
        self.keys.len() * 8 + self.states.len() * (4 + 4 + 16) + self.ends.len() * 4
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

/// Searches one partition, giving up once the memo of dead (linearized set, state) pairs and
/// the distinct states met hold more than `max_bytes`, or when `watch` (called every
/// [`WATCH_EVERY`] steps with the pairs explored so far) says stop. A memo entry's size is
/// proportional to the concurrency of the history (the operations overlapping the earliest one
/// not yet linearized), never to its length; the states are one per distinct value met.
pub(super) fn search<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    max_bytes: usize,
    watch: &mut dyn FnMut(u64) -> Result<(), String>,
) -> Outcome {
    // Whole bitsets as keys when they are no longer than window keys would usually be.
    let whole = ops.len().div_ceil(64) <= if ops.iter().all(|op| op.ret.is_some()) { 2 } else { 3 };
    search_with(model, ops, max_bytes, watch, whole)
}

/// [`search`], with whole bitsets or windows as memo keys: the outcome is the same either way.
fn search_with<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    max_bytes: usize,
    watch: &mut dyn FnMut(u64) -> Result<(), String>,
    whole_keys: bool,
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
    // Each operation's number in the linearized set: those that returned in call order, then
    // those that never did, in call order.
    let returned = ops.iter().filter(|op| op.ret.is_some()).count();
    let mut number = vec![0u32; n];
    let mut counts = [0, returned];
    for &(_, is_return, op) in &order {
        if !is_return {
            let part = usize::from(ops[op as usize].ret.is_none());
            number[op as usize] = counts[part] as u32;
            counts[part] += 1;
        }
    }
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

    let mut interner = Interner { states: Vec::new(), ids: HashMap::default(), bytes: 0 };
    let mut state = interner.id(model, model.init());
    let mut set = Linearized::new(n, returned, whole_keys);
    let mut key = Vec::new();
    let mut seen = Seen::new(if set.whole { set.bits.len() } else { 0 });
    let mut explored = 0u64;
    let mut stack: Vec<(u32, u32)> = Vec::new(); // (call event, state before it)
    // The longest prefix linearized so far, by operation; its first `shared` agree with `stack`.
    let mut best: Vec<u32> = Vec::new();
    let mut shared = 0;
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
            && let Err(reason) = watch(explored)
        {
            return Outcome::Stopped { explored, reason };
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
                let bit = number[ev.op as usize] as usize;
                set.insert(bit);
                set.key(&mut key);
                if !seen.contains(set.hash ^ mix(u64::from(next_state)), &key, next_state) {
                    stack.push((cursor, state));
                    state = next_state;
                    explored += 1;
                    lift(&mut events, cursor);
                    if stack.len() > best.len() {
                        best.truncate(shared);
                        best.extend(stack[shared..].iter().map(|&(e, _)| events[e as usize].op));
                        shared = stack.len();
                    }
                    cursor = events[0].next;
                    if seen.bytes() + interner.bytes > max_bytes {
                        return Outcome::Budget { explored };
                    }
                    continue;
                }
                set.remove(bit);
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
                    explored,
                });
            };
            shared = shared.min(stack.len());
            // Every extension of this pair failed: remember it, then step back.
            set.key(&mut key);
            if !seen.insert(set.hash ^ mix(u64::from(state)), &key, state) || seen.bytes() + interner.bytes > max_bytes
            {
                return Outcome::Budget { explored };
            }
            set.remove(number[events[call as usize].op as usize] as usize);
            state = before;
            unlift(&mut events, call);
            cursor = events[call as usize].next;
        }
    }
    Outcome::Linearizable { explored }
}

#[cfg(test)]
mod tests {
    use super::super::model::{CasRegister, PerKey, RegisterInput, RegisterOutput};
    use super::super::{Budget, Verdict, check};
    use super::*;

    type RegOp = Operation<RegisterInput, RegisterOutput>;

    /// A small deterministic generator (a 64-bit LCG's high bits).
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % n
        }
    }

    /// `n` operations on one register by four clients, nearly sequential: operation `i` is
    /// called at `10 i` and returns at `10 i + 15`, so it overlaps its two neighbours and
    /// nothing else. About half are writes (of `i`), the rest reads; they take effect in call
    /// order but for some overlapping pairs, swapped. With `stale`, the read at that index
    /// returns the value of a write overwritten before the read was called.
    fn nearly_sequential(n: usize, stale: Option<usize>) -> Vec<RegOp> {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut write: Vec<bool> = (0..n).map(|_| rng.below(2) == 0).collect();
        let mut effect: Vec<usize> = (0..n).collect();
        let mut i = 0;
        while i + 1 < n {
            if rng.below(4) == 0 {
                effect.swap(i, i + 1);
                i += 2;
            } else {
                i += 1;
            }
        }
        if let Some(p) = stale {
            (write[p - 10], write[p - 5], write[p]) = (true, true, false);
        }
        let mut value = None;
        let mut output = vec![RegisterOutput::Written; n];
        for &j in &effect {
            if write[j] {
                value = Some(j as i64);
            } else {
                output[j] = RegisterOutput::Value(value);
            }
        }
        if let Some(p) = stale {
            output[p] = RegisterOutput::Value(Some((p - 10) as i64));
        }
        (0..n)
            .map(|i| Operation {
                client: i as u64 % 4,
                call: 10 * i as u64,
                ret: Some(10 * i as u64 + 15),
                input: if write[i] {
                    RegisterInput::Write { key: 0, value: i as i64 }
                } else {
                    RegisterInput::Read { key: 0 }
                },
                output: Some(output[i].clone()),
            })
            .collect()
    }

    /// Issue 17: memory follows concurrency, not length. The old memo stored a 300,000-bit set
    /// per pair and gave up past 2 GiB after 48,312 operations; now the memo holds only dead
    /// pairs, each a few words.
    #[test]
    fn a_300k_nearly_sequential_history_is_linearizable_in_64_mib() {
        let ops = nearly_sequential(300_000, None);
        let r = check(&PerKey(CasRegister), &ops, Budget { max_bytes: 64 << 20 });
        assert_eq!(r.verdict, Verdict::Linearizable, "{:?}", r.unknown_reason);
    }

    /// Proving a violation explores every way back to the start: still in 64 MiB.
    #[test]
    fn a_stale_read_near_the_end_of_300k_operations_is_found_in_64_mib() {
        let n = 300_000;
        let ops = nearly_sequential(n, Some(n - 1000));
        let r = check(&PerKey(CasRegister), &ops, Budget { max_bytes: 64 << 20 });
        assert_eq!(r.verdict, Verdict::NotLinearizable, "{:?}", r.unknown_reason);
        let v = r.violation.unwrap();
        assert_eq!(v.stuck, format!("read(0) -> {}", n - 1010));
        // The longest prefix: every operation called before it, and the read overlapping it.
        assert_eq!(v.prefix.len(), n - 999);
        assert_eq!(v.prefix.last().unwrap(), &format!("read(0) -> {}", n - 1003));
    }

    /// A register operation with a random input and a random (often wrong) output.
    fn random_op(rng: &mut Rng, client: u64, call: u64, ret: Option<u64>) -> RegOp {
        let v = |rng: &mut Rng| rng.below(3) as i64;
        let input = match rng.below(3) {
            0 => RegisterInput::Read { key: 0 },
            1 => RegisterInput::Write { key: 0, value: v(rng) },
            _ => RegisterInput::Cas { key: 0, expect: v(rng), new: v(rng) },
        };
        let output = ret.map(|_| match &input {
            RegisterInput::Read { .. } => RegisterOutput::Value((rng.below(4) > 0).then(|| v(rng))),
            RegisterInput::Write { .. } => RegisterOutput::Written,
            RegisterInput::Cas { .. } => RegisterOutput::Swapped(rng.below(2) == 0),
        });
        Operation { client, call, ret, input, output }
    }

    /// Is there an order of `ops`, consistent with real time, that the register accepts?
    /// Every permutation, tried.
    fn brute_force(ops: &[RegOp]) -> bool {
        fn extend(ops: &[RegOp], used: &mut Vec<bool>, state: Option<i64>) -> bool {
            if used.iter().all(|&u| u) {
                return true;
            }
            (0..ops.len()).any(|i| {
                // `i` may come next if nothing left returned before it was called.
                let ready = !used[i]
                    && (0..ops.len())
                        .all(|j| used[j] || j == i || ops[j].ret.is_none_or(|r| r.max(ops[j].call) >= ops[i].call));
                if !ready {
                    return false;
                }
                let next = match CasRegister.step(&state, &ops[i].input, ops[i].output.as_ref()) {
                    Step::Illegal => return false,
                    Step::Same => state,
                    Step::Next(s) => s,
                };
                used[i] = true;
                let found = extend(ops, used, next);
                used[i] = false;
                found
            })
        }
        extend(ops, &mut vec![false; ops.len()], None)
    }

    use super::super::model::Object;

    #[test]
    fn small_histories_get_the_verdict_of_trying_every_order() {
        let mut rng = Rng(7);
        for _ in 0..3000 {
            let n = 1 + rng.below(7);
            let ops: Vec<RegOp> = (0..n)
                .map(|c| {
                    let call = rng.below(20);
                    let ret = (rng.below(6) > 0).then(|| call + rng.below(10));
                    random_op(&mut rng, c, call, ret)
                })
                .collect();
            for whole in [true, false] {
                let found = search_with(&PerKey(CasRegister), &ops, usize::MAX, &mut |_| Ok(()), whole);
                assert_eq!(matches!(found, Outcome::Linearizable { .. }), brute_force(&ops), "{ops:?}");
            }
        }
    }

    /// A window key is the linearized set in other words: the search takes the same steps
    /// with it as with whole bitsets, across word boundaries and with operations that never
    /// returned.
    #[test]
    fn window_keys_and_whole_bitsets_search_alike() {
        let mut rng = Rng(11);
        for round in 0..60 {
            let n = 100 + rng.below(300);
            let mut ops: Vec<RegOp> = Vec::new();
            let mut value = None;
            for i in 0..n {
                let call = 10 * i + rng.below(10);
                let len = if rng.below(30) == 0 { 500 + rng.below(1200) } else { 5 + rng.below(30) };
                let ret = (rng.below([40, 4, 12][round % 3]) > 0).then_some(call + len);
                let mut op = random_op(&mut rng, i, call, ret);
                // Mostly what a register taking effect at each call would answer, so that the
                // search goes deep; now and then something else.
                let step = CasRegister.step(&value, &op.input, None);
                if let Step::Next(s) = &step {
                    value = *s;
                }
                if op.output.is_some() && (round % 3 == 0 || rng.below(200) > 0) {
                    op.output = Some(match (&op.input, step) {
                        (RegisterInput::Read { .. }, _) => RegisterOutput::Value(value),
                        (RegisterInput::Write { .. }, _) => RegisterOutput::Written,
                        (RegisterInput::Cas { .. }, step) => RegisterOutput::Swapped(step != Step::Same),
                    });
                }
                ops.push(op);
            }
            let run = |whole| {
                let mut stop = |explored| if explored > 300_000 { Err("enough".to_string()) } else { Ok(()) };
                search_with(&PerKey(CasRegister), &ops, usize::MAX, &mut stop, whole)
            };
            let found = run(false);
            assert_eq!(run(true), found, "round {round}");
            if let Outcome::Violation(stuck) = found {
                // The longest prefix is itself a linearization of what it holds.
                let mut state = None;
                for (k, &i) in stuck.prefix.iter().enumerate() {
                    state = match CasRegister.step(&state, &ops[i].input, ops[i].output.as_ref()) {
                        Step::Illegal => panic!("round {round}: the prefix's step {k} is illegal"),
                        Step::Same => state,
                        Step::Next(s) => s,
                    };
                    let before: Vec<usize> =
                        (0..ops.len()).filter(|&j| ops[j].ret.is_some_and(|r| r < ops[i].call)).collect();
                    assert!(
                        before.iter().all(|j| stuck.prefix[..k].contains(j)),
                        "round {round}: step {k} jumps the queue"
                    );
                }
            }
        }
    }

    /// A window key names one linearized set and no other, whatever order operations come and
    /// go in (the hash decides most lookups; the key must settle collisions). Operations are
    /// taken near the lowest unlinearized one: within 150 (windows of several words) or
    /// within 6 (the same sets come round again).
    #[test]
    fn a_window_key_names_exactly_one_set() {
        use std::collections::{BTreeMap, BTreeSet};
        let big = (1 << 21) + 300;
        for (n, returned) in [(300, 300), (300, 0), (300, 170), (130, 64), (big, 1 << 21), (big, 200)] {
            for reach in [150, 6] {
                let mut rng = Rng(n as u64 + returned as u64 + reach);
                let mut set = Linearized::new(n, returned, false);
                let mut members: BTreeSet<usize> = BTreeSet::new();
                let mut sets: BTreeMap<Vec<u64>, Vec<usize>> = BTreeMap::new();
                let mut key = Vec::new();
                for _ in 0..10_000 {
                    if members.is_empty() || rng.below(5) < 3 {
                        let part = set.parts[rng.below(2) as usize];
                        let i = part.lo + rng.below(reach) as usize;
                        if i < part.end && members.insert(i) {
                            set.insert(i);
                        }
                    } else {
                        let i = *members.iter().nth(rng.below(members.len() as u64) as usize).unwrap();
                        members.remove(&i);
                        set.remove(i);
                    }
                    for part in set.parts {
                        let lo = (part.start..part.end).find(|i| !members.contains(i));
                        assert_eq!(part.lo, lo.unwrap_or(part.end));
                        let hi = members.range(part.start..part.end).next_back();
                        assert_eq!(part.hi, hi.map_or(part.start, |i| i + 1));
                    }
                    // Below the first part's `lo` every operation is in: that `lo`, the second
                    // part's and the operations in from there say which set it is.
                    let lo = set.parts[0].lo;
                    let mut named: Vec<usize> = vec![lo, set.parts[1].lo];
                    named.extend(members.range(lo..));
                    set.key(&mut key);
                    assert_eq!(sets.entry(key.clone()).or_insert_with(|| named.clone()), &named, "n {n}");
                    assert_eq!(set.hash, members.iter().fold(0, |h, &i| h ^ set.zobrist[i]));
                }
            }
        }
    }

    #[test]
    fn bit_scans_stop_at_their_bounds() {
        let bits = [u64::MAX, 0b1011, 0, 1 << 63];
        assert_eq!(next_clear(&bits, 0, 256), 66);
        assert_eq!(next_clear(&bits, 3, 60), 60);
        assert_eq!(next_clear(&bits, 255, 256), 256);
        assert_eq!(last_set(&bits, 256, 0), Some(255));
        assert_eq!(last_set(&bits, 255, 0), Some(67));
        assert_eq!(last_set(&bits, 255, 68), None);
        assert_eq!(last_set(&bits, 64, 0), Some(63));
        assert_eq!(last_set(&bits, 0, 0), None);
    }
}
