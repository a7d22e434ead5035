//! The algebra every type must obey, checked on random histories: join is commutative,
//! associative and idempotent; updates and joins only inflate; an update's delta joined into
//! the old state gives the new one; and operations delivered in any causal order give the same
//! state, equal to the join of the replicas' states.

use syncsim_sim::rng::{SimRng, Stream, below};
use syncsim_sim::{Op, OpKind};

use super::types::{Crdt, Env};
use super::{GCounter, LwwRegister, MvRegister, OrSet, PnCounter, Rga};

const NODES: usize = 3;
const SEEDS: u64 = 60;

/// A random update among those `C` serves, on key 0, small values so that they collide.
fn random_update<C: Crdt>(rng: &mut SimRng, state: &C) -> Op {
    let kinds: Vec<OpKind> = C::OPS.iter().copied().filter(|k| k.is_update()).collect();
    let len = match state.read() {
        syncsim_sim::Output::Elems(v) => v.len() as u64,
        _ => 0,
    };
    let small = |rng: &mut SimRng| below(rng, 4);
    match kinds[below(rng, kinds.len() as u64) as usize] {
        OpKind::Incr => Op::Incr { key: 0, by: 1 + small(rng) },
        OpKind::Decr => Op::Decr { key: 0, by: 1 + small(rng) },
        OpKind::Put => Op::Put { key: 0, value: small(rng) },
        OpKind::Add => Op::Add { key: 0, elem: small(rng) },
        OpKind::Remove => Op::Remove { key: 0, elem: small(rng) },
        OpKind::Insert => Op::Insert { key: 0, pos: below(rng, len + 1), elem: small(rng) },
        OpKind::Delete => Op::Delete { key: 0, pos: below(rng, len.max(1)) },
        other => unreachable!("{other:?} is not an update"),
    }
}

fn env(me: usize) -> Env {
    Env { me: me as u32, ..Env::default() }
}

fn join<C: Crdt>(a: &C, b: &C) -> C {
    let mut out = a.clone();
    out.join(b, &mut env(0));
    out
}

/// `a ≤ b` in the semilattice: joining `a` into `b` changes nothing.
fn le<C: Crdt>(a: &C, b: &C) -> bool {
    join(b, a) == *b
}

/// Replicas that updated and merged at random, with every update's operation and delta.
struct Run<C: Crdt> {
    replicas: Vec<C>,
    /// (origin, what the origin had delivered from each node, operation), in creation order.
    ops: Vec<(usize, Vec<usize>, C::Op)>,
}

fn random_run<C: Crdt>(seed: u64) -> Run<C> {
    let mut rng = Stream::Node(7).rng(seed);
    let mut replicas = vec![C::default(); NODES];
    let mut envs: Vec<Env> = (0..NODES).map(env).collect();
    let mut ops = Vec::new();
    // Which operations each replica has (by index into `ops`), to record causal dependencies.
    let mut has: Vec<Vec<usize>> = vec![Vec::new(); NODES];
    for step in 0..30u64 {
        let i = below(&mut rng, NODES as u64) as usize;
        if below(&mut rng, 3) < 2 {
            envs[i].now_ms = step * 2 + below(&mut rng, 3);
            let op = random_update(&mut rng, &replicas[i]);
            let old = replicas[i].clone();
            let Some(u) = replicas[i].update(&op, &mut envs[i]) else { panic!("{} refused {op:?}", C::NAME) };
            assert!(le(&old, &replicas[i]), "{}: update {op:?} deflated the state", C::NAME);
            assert_eq!(join(&old, &u.delta), replicas[i], "{}: old ⊔ delta is not the new state", C::NAME);
            ops.push((i, has[i].clone(), u.op));
            has[i].push(ops.len() - 1);
        } else {
            let j = below(&mut rng, NODES as u64) as usize;
            let other = replicas[j].clone();
            let old = replicas[i].clone();
            replicas[i].join(&other, &mut envs[i]);
            assert!(le(&old, &replicas[i]) && le(&other, &replicas[i]), "{}: join is not an upper bound", C::NAME);
            let theirs = has[j].clone();
            for o in theirs {
                if !has[i].contains(&o) {
                    has[i].push(o);
                }
            }
        }
    }
    Run { replicas, ops }
}

fn join_laws<C: Crdt>() {
    for seed in 0..SEEDS {
        let run = random_run::<C>(seed);
        let [a, b, c] = [&run.replicas[0], &run.replicas[1], &run.replicas[2]];
        assert_eq!(join(a, b), join(b, a), "{}: join not commutative (seed {seed})", C::NAME);
        assert_eq!(join(&join(a, b), c), join(a, &join(b, c)), "{}: join not associative (seed {seed})", C::NAME);
        assert_eq!(join(a, a), *a, "{}: join not idempotent (seed {seed})", C::NAME);
        assert!(le(a, &join(a, b)), "{}: join deflated (seed {seed})", C::NAME);
    }
}

/// Delivers every operation to a fresh replica in a random order that respects causality, and
/// checks that the order does not matter.
fn causal_delivery<C: Crdt>() {
    for seed in 0..SEEDS {
        let run = random_run::<C>(seed);
        let mut rng = Stream::Node(8).rng(seed);
        let mut results = Vec::new();
        for _ in 0..4 {
            let mut state = C::default();
            let mut delivered = vec![false; run.ops.len()];
            for _ in 0..run.ops.len() {
                let ready: Vec<usize> = (0..run.ops.len())
                    .filter(|&o| !delivered[o] && run.ops[o].1.iter().all(|&d| delivered[d]))
                    .filter(|&o| (0..o).all(|p| run.ops[p].0 != run.ops[o].0 || delivered[p]))
                    .collect();
                let pick = ready[below(&mut rng, ready.len() as u64) as usize];
                delivered[pick] = true;
                state.effect(&run.ops[pick].2, &mut env(1));
            }
            results.push(state);
        }
        for r in &results[1..] {
            assert_eq!(*r, results[0], "{}: causal delivery order changed the state (seed {seed})", C::NAME);
        }
        // Every operation delivered is the same as every replica's state joined.
        let everything = run.replicas.iter().fold(C::default(), |acc, r| join(&acc, r));
        assert_eq!(
            results[0].read(),
            everything.read(),
            "{}: op-based and state-based disagree (seed {seed})",
            C::NAME
        );
    }
}

macro_rules! laws {
    ($($name:ident: $t:ty),*) => {$(
        mod $name {
            use super::*;
            #[test]
            fn join_is_a_semilattice_and_updates_inflate() {
                join_laws::<$t>();
            }
            #[test]
            fn any_causal_delivery_order_gives_the_same_state() {
                causal_delivery::<$t>();
            }
        }
    )*};
}

laws!(g_counter: GCounter, pn_counter: PnCounter, lww: LwwRegister, mv_register: MvRegister, or_set: OrSet, rga: Rga);
