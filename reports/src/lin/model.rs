//! Sequential specifications for the linearizability checker: what each operation may return
//! from each state, and the state it leaves.
//!
//! An object is specified once, for a single key ([`Object`]); [`PerKey`] checks each key of a
//! history alone (its operations commute with every other key's), [`Whole`] checks all keys as
//! one object. States are kept cheap to clone, hash and compare: the search makes millions.

use std::fmt::{Debug, Display};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The result of applying one operation to a state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step<S> {
    /// The operation cannot have returned this output from this state.
    Illegal,
    /// Legal, and the state does not change.
    Same,
    /// Legal, and the state becomes this.
    Next(S),
}

/// What the search needs of a sequential specification.
pub trait Model {
    /// A state of the object.
    type State: Clone + Eq + Hash + Debug;
    /// An operation's input.
    type Input: Clone + Debug;
    /// An operation's output.
    type Output: Clone + Debug;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// Applies `input` returning `output` (`None`: unknown, it matches any legal result).
    fn step(&self, state: &Self::State, input: &Self::Input, output: Option<&Self::Output>) -> Step<Self::State>;

    /// The partition an operation belongs to: operations of different partitions commute, so
    /// each partition can be checked alone (P-compositionality). One partition for all: `""`.
    fn partition(&self, input: &Self::Input) -> String;

    /// The operation in words, for explanations.
    fn describe(&self, input: &Self::Input, output: Option<&Self::Output>) -> String;

    /// True if the operation never changes the state (a read): with an unknown output it
    /// constrains nothing, and the checker leaves it out.
    fn is_read(&self, input: &Self::Input) -> bool;

    /// Bytes a state holds, for the memory budget.
    fn state_bytes(&self, state: &Self::State) -> usize {
        let _ = state;
        std::mem::size_of::<Self::State>()
    }
}

/// A keyed object specified one key at a time.
pub trait Object {
    /// The value at one key.
    type State: Clone + Eq + Hash + Debug;
    /// A key.
    type Key: Clone + Ord + Hash + Debug + Display;
    /// An operation's input (naming its key).
    type Input: Clone + Debug;
    /// An operation's output.
    type Output: Clone + Debug;

    /// The key an operation touches.
    fn key<'a>(&self, input: &'a Self::Input) -> &'a Self::Key;
    /// A key's value before any operation.
    fn init(&self) -> Self::State;
    /// Applies one operation to its key's value.
    fn step(&self, state: &Self::State, input: &Self::Input, output: Option<&Self::Output>) -> Step<Self::State>;
    /// The operation in words.
    fn describe(&self, input: &Self::Input, output: Option<&Self::Output>) -> String;
    /// True for operations that never change the state.
    fn is_read(&self, input: &Self::Input) -> bool;
    /// Bytes a key's value holds, for the memory budget.
    fn state_bytes(&self, state: &Self::State) -> usize {
        let _ = state;
        std::mem::size_of::<Self::State>()
    }
}

/// Checks each key alone: the state is one key's value.
#[derive(Copy, Clone, Debug, Default)]
pub struct PerKey<O>(pub O);

impl<O: Object> Model for PerKey<O> {
    type State = O::State;
    type Input = O::Input;
    type Output = O::Output;

    fn init(&self) -> O::State {
        self.0.init()
    }
    fn step(&self, state: &O::State, input: &O::Input, output: Option<&O::Output>) -> Step<O::State> {
        self.0.step(state, input, output)
    }
    fn partition(&self, input: &O::Input) -> String {
        self.0.key(input).to_string()
    }
    fn describe(&self, input: &O::Input, output: Option<&O::Output>) -> String {
        self.0.describe(input, output)
    }
    fn is_read(&self, input: &O::Input) -> bool {
        self.0.is_read(input)
    }
    fn state_bytes(&self, state: &O::State) -> usize {
        self.0.state_bytes(state)
    }
}

/// Checks every key together as one object: the state maps each key touched so far to its
/// value.
#[derive(Copy, Clone, Debug, Default)]
pub struct Whole<O>(pub O);

/// The values of every key touched so far, sorted by key and shared between the states that
/// have them in common; the hash is kept up to date so that states hash in constant time.
#[derive(Clone, Debug)]
pub struct KeyedState<K, S> {
    entries: Arc<Vec<(K, S)>>,
    hash: u64,
}

impl<K: PartialEq, S: PartialEq> PartialEq for KeyedState<K, S> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && (Arc::ptr_eq(&self.entries, &other.entries) || self.entries == other.entries)
    }
}
impl<K: Eq, S: Eq> Eq for KeyedState<K, S> {}
impl<K, S> Hash for KeyedState<K, S> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

fn entry_hash<K: Hash, S: Hash>(k: &K, s: &S) -> u64 {
    let mut h = FxHasher::default();
    k.hash(&mut h);
    s.hash(&mut h);
    mix(h.finish())
}

impl<O: Object> Model for Whole<O> {
    type State = KeyedState<O::Key, O::State>;
    type Input = O::Input;
    type Output = O::Output;

    fn init(&self) -> Self::State {
        KeyedState { entries: Arc::new(Vec::new()), hash: 0 }
    }

    fn step(&self, state: &Self::State, input: &O::Input, output: Option<&O::Output>) -> Step<Self::State> {
        let key = self.0.key(input);
        let found = state.entries.binary_search_by(|(k, _)| k.cmp(key));
        let init;
        let current = match found {
            Ok(i) => &state.entries[i].1,
            Err(_) => {
                init = self.0.init();
                &init
            }
        };
        match self.0.step(current, input, output) {
            Step::Illegal => Step::Illegal,
            Step::Same => Step::Same,
            Step::Next(value) => {
                let mut entries = (*state.entries).clone();
                let mut hash = state.hash;
                match found {
                    Ok(i) => {
                        hash ^= entry_hash(key, &entries[i].1);
                        entries[i].1 = value;
                        hash ^= entry_hash(key, &entries[i].1);
                    }
                    Err(i) => {
                        hash ^= entry_hash(key, &value);
                        entries.insert(i, (key.clone(), value));
                    }
                }
                Step::Next(KeyedState { entries: Arc::new(entries), hash })
            }
        }
    }

    fn partition(&self, _: &O::Input) -> String {
        String::new()
    }

    fn describe(&self, input: &O::Input, output: Option<&O::Output>) -> String {
        self.0.describe(input, output)
    }

    fn is_read(&self, input: &O::Input) -> bool {
        self.0.is_read(input)
    }

    fn state_bytes(&self, state: &Self::State) -> usize {
        state.entries.iter().map(|(_, v)| std::mem::size_of::<O::Key>() + self.0.state_bytes(v)).sum::<usize>() + 32
    }
}

/// An integer register with compare-and-set, starting empty (`None`): the model of Jepsen's
/// etcd tests and of registers in syncsim's own histories.
///
/// A failed CAS stays in the history as a CAS that returned false (legal only when the value
/// differs from the expected one); a read whose result is unknown matches any state; a write or
/// CAS whose result is unknown may take effect.
#[derive(Copy, Clone, Debug, Default)]
pub struct CasRegister;

/// An operation on a [`CasRegister`] (with the key it names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegisterInput {
    /// Read the register.
    Read {
        /// Which register.
        key: u64,
    },
    /// Write a value.
    Write {
        /// Which register.
        key: u64,
        /// The value.
        value: i64,
    },
    /// If the register holds `expect`, set it to `new`.
    Cas {
        /// Which register.
        key: u64,
        /// The value it must hold.
        expect: i64,
        /// The value it gets.
        new: i64,
    },
}

/// What a [`CasRegister`] operation returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegisterOutput {
    /// A read's value (`None`: never written).
    Value(Option<i64>),
    /// A write completed.
    Written,
    /// Whether a CAS swapped.
    Swapped(bool),
}

impl Object for CasRegister {
    type State = Option<i64>;
    type Key = u64;
    type Input = RegisterInput;
    type Output = RegisterOutput;

    fn key<'a>(&self, input: &'a RegisterInput) -> &'a u64 {
        match input {
            RegisterInput::Read { key } | RegisterInput::Write { key, .. } | RegisterInput::Cas { key, .. } => key,
        }
    }

    fn init(&self) -> Option<i64> {
        None
    }

    fn step(
        &self,
        &current: &Option<i64>,
        input: &RegisterInput,
        output: Option<&RegisterOutput>,
    ) -> Step<Option<i64>> {
        let set = |v: i64| if current == Some(v) { Step::Same } else { Step::Next(Some(v)) };
        match (input, output) {
            (RegisterInput::Read { .. }, None) => Step::Same,
            (RegisterInput::Read { .. }, Some(RegisterOutput::Value(v))) if *v == current => Step::Same,
            (RegisterInput::Read { .. }, Some(_)) => Step::Illegal,
            (RegisterInput::Write { value, .. }, None | Some(RegisterOutput::Written)) => set(*value),
            (RegisterInput::Write { .. }, Some(_)) => Step::Illegal,
            (RegisterInput::Cas { expect, new, .. }, None) => {
                if current == Some(*expect) {
                    set(*new)
                } else {
                    Step::Same
                }
            }
            (RegisterInput::Cas { expect, new, .. }, Some(RegisterOutput::Swapped(true))) => {
                if current == Some(*expect) { set(*new) } else { Step::Illegal }
            }
            (RegisterInput::Cas { expect, .. }, Some(RegisterOutput::Swapped(false))) => {
                if current == Some(*expect) {
                    Step::Illegal
                } else {
                    Step::Same
                }
            }
            (RegisterInput::Cas { .. }, Some(_)) => Step::Illegal,
        }
    }

    fn describe(&self, input: &RegisterInput, output: Option<&RegisterOutput>) -> String {
        let out = match output {
            None => "?".to_string(),
            Some(RegisterOutput::Value(None)) => "nil".into(),
            Some(RegisterOutput::Value(Some(v))) => v.to_string(),
            Some(RegisterOutput::Written) => "ok".into(),
            Some(RegisterOutput::Swapped(s)) => s.to_string(),
        };
        match input {
            RegisterInput::Read { key } => format!("read({key}) -> {out}"),
            RegisterInput::Write { key, value } => format!("write({key}, {value}) -> {out}"),
            RegisterInput::Cas { key, expect, new } => format!("cas({key}, {expect}, {new}) -> {out}"),
        }
    }

    fn is_read(&self, input: &RegisterInput) -> bool {
        matches!(input, RegisterInput::Read { .. })
    }
}

/// A string that appends in place of copying when it can, with its length and a polynomial
/// hash kept up to date, so that hashing and most comparisons take constant time.
#[derive(Clone, Debug, Default)]
pub struct Text {
    text: Arc<str>,
    hash: u64,
}

/// The base of [`Text`]'s polynomial hash (odd, so powers never vanish modulo 2^64).
const BASE: u64 = 0x100_0000_01b3;

impl Text {
    /// The text of `s`.
    pub fn new(s: &str) -> Text {
        Text { text: s.into(), hash: poly(0, s) }
    }
    /// This text followed by `s`.
    pub fn append(&self, s: &str) -> Text {
        let mut text = String::with_capacity(self.text.len() + s.len());
        text.push_str(&self.text);
        text.push_str(s);
        Text { text: text.into(), hash: poly(self.hash, s) }
    }
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn poly(mut h: u64, s: &str) -> u64 {
    for &b in s.as_bytes() {
        h = h.wrapping_mul(BASE).wrapping_add(u64::from(b) + 1);
    }
    h
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.hash == other.hash && self.text.len() == other.text.len() && self.text == other.text
    }
}
impl Eq for Text {}
impl Hash for Text {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash ^ self.text.len() as u64);
    }
}

/// A map from string keys to string values with get, put and append, every value starting
/// empty: the model of Porcupine's key-value tests. Put and append outputs are not checked.
#[derive(Copy, Clone, Debug, Default)]
pub struct KvStore;

/// An operation on a [`KvStore`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvInput {
    /// Read a key.
    Get(String),
    /// Replace a key's value.
    Put(String, String),
    /// Append to a key's value.
    Append(String, String),
}

impl Object for KvStore {
    type State = Text;
    type Key = String;
    type Input = KvInput;
    /// A get's value.
    type Output = String;

    fn key<'a>(&self, input: &'a KvInput) -> &'a String {
        match input {
            KvInput::Get(k) | KvInput::Put(k, _) | KvInput::Append(k, _) => k,
        }
    }

    fn init(&self) -> Text {
        Text::new("")
    }

    fn step(&self, current: &Text, input: &KvInput, output: Option<&String>) -> Step<Text> {
        match input {
            KvInput::Get(_) => match output {
                Some(v) if v.as_str() != current.as_str() => Step::Illegal,
                _ => Step::Same,
            },
            KvInput::Put(_, v) if v.as_str() == current.as_str() => Step::Same,
            KvInput::Put(_, v) => Step::Next(Text::new(v)),
            KvInput::Append(_, v) if v.is_empty() => Step::Same,
            KvInput::Append(_, v) => Step::Next(current.append(v)),
        }
    }

    fn describe(&self, input: &KvInput, output: Option<&String>) -> String {
        match input {
            KvInput::Get(k) => format!("get({k:?}) -> {}", output.map_or("?".to_string(), |v| format!("{v:?}"))),
            KvInput::Put(k, v) => format!("put({k:?}, {v:?})"),
            KvInput::Append(k, v) => format!("append({k:?}, {v:?})"),
        }
    }

    fn is_read(&self, input: &KvInput) -> bool {
        matches!(input, KvInput::Get(_))
    }

    fn state_bytes(&self, state: &Text) -> usize {
        std::mem::size_of::<Text>() + state.as_str().len()
    }
}

/// Integer counters with increment and read, every counter starting at 0.
#[derive(Copy, Clone, Debug, Default)]
pub struct Counter;

/// An operation on a [`Counter`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CounterInput {
    /// Add `by` to the counter.
    Incr {
        /// Which counter.
        key: u64,
        /// The amount.
        by: i64,
    },
    /// Read the counter.
    Read {
        /// Which counter.
        key: u64,
    },
}

impl Object for Counter {
    type State = i64;
    type Key = u64;
    type Input = CounterInput;
    /// A read's value (increments return nothing worth checking).
    type Output = i64;

    fn key<'a>(&self, input: &'a CounterInput) -> &'a u64 {
        match input {
            CounterInput::Incr { key, .. } | CounterInput::Read { key } => key,
        }
    }

    fn init(&self) -> i64 {
        0
    }

    fn step(&self, &current: &i64, input: &CounterInput, output: Option<&i64>) -> Step<i64> {
        match *input {
            CounterInput::Read { .. } => match output {
                Some(v) if *v != current => Step::Illegal,
                _ => Step::Same,
            },
            CounterInput::Incr { by: 0, .. } => Step::Same,
            CounterInput::Incr { by, .. } => Step::Next(current + by),
        }
    }

    fn describe(&self, input: &CounterInput, output: Option<&i64>) -> String {
        match *input {
            CounterInput::Incr { key, by } => format!("incr({key}, {by})"),
            CounterInput::Read { key } => format!("read({key}) -> {}", output.map_or("?".into(), |v| v.to_string())),
        }
    }

    fn is_read(&self, input: &CounterInput) -> bool {
        matches!(input, CounterInput::Read { .. })
    }
}

/// FxHash: fast, and the same on every run.
#[derive(Default)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(w));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

/// SplitMix64's finaliser.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_cas_is_legal_only_when_the_value_differs() {
        let m = CasRegister;
        let s = Some(5);
        let cas = RegisterInput::Cas { key: 0, expect: 5, new: 7 };
        assert_eq!(m.step(&s, &cas, Some(&RegisterOutput::Swapped(false))), Step::Illegal);
        assert_eq!(m.step(&s, &cas, Some(&RegisterOutput::Swapped(true))), Step::Next(Some(7)));
        let cas = RegisterInput::Cas { key: 0, expect: 4, new: 7 };
        assert_eq!(m.step(&s, &cas, Some(&RegisterOutput::Swapped(false))), Step::Same);
        assert_eq!(m.step(&s, &cas, None), Step::Same, "an unknown CAS that cannot swap changes nothing");
        let read = RegisterInput::Read { key: 0 };
        assert_eq!(m.step(&s, &read, None), Step::Same, "an unknown read matches any state");
        assert_eq!(m.step(&s, &read, Some(&RegisterOutput::Value(None))), Step::Illegal);
    }

    #[test]
    fn kv_appends_concatenate_and_gets_must_match() {
        let m = KvStore;
        let Step::Next(s) = m.step(&m.init(), &KvInput::Append("k".into(), "x 1 y".into()), None) else { panic!() };
        let Step::Next(s) = m.step(&s, &KvInput::Append("k".into(), "x 2 y".into()), None) else { panic!() };
        assert_eq!(s, Text::new("x 1 yx 2 y"), "appending keeps the hash of the whole");
        assert_eq!(m.step(&s, &KvInput::Get("k".into()), Some(&"x 1 yx 2 y".into())), Step::Same);
        assert_eq!(m.step(&s, &KvInput::Get("k".into()), Some(&"x 1 y".into())), Step::Illegal);
    }

    #[test]
    fn the_whole_map_keeps_keys_apart_and_hashes_by_content() {
        let m = Whole(KvStore);
        let put = |k: &str, v: &str| KvInput::Put(k.into(), v.into());
        let Step::Next(a) = m.step(&m.init(), &put("x", "1"), None) else { panic!() };
        let Step::Next(a) = m.step(&a, &put("y", "2"), None) else { panic!() };
        let Step::Next(b) = m.step(&m.init(), &put("y", "2"), None) else { panic!() };
        let Step::Next(b) = m.step(&b, &put("x", "1"), None) else { panic!() };
        assert_eq!(a, b, "the same values reached in another order are the same state");
        assert_eq!(m.step(&a, &KvInput::Get("x".into()), Some(&"1".into())), Step::Same);
        assert_eq!(m.step(&a, &KvInput::Get("z".into()), Some(&String::new())), Step::Same);
        assert_eq!(m.step(&a, &KvInput::Get("y".into()), Some(&"1".into())), Step::Illegal);
    }
}
