use super::*;

fn request(req: u64) -> Request {
    Request { req: RequestId(req), origin: NodeId(1), op: Op::Put { key: 0, value: req } }
}

fn vc(view: u64, stable: u64, prepared: &[(u64, u64, &[u64])]) -> ViewChange {
    ViewChange {
        view,
        stable: Checkpoint { seq: stable, state: 0, chain: 0 },
        prepared: prepared
            .iter()
            .map(|&(seq, v, reqs)| Prepared {
                seq,
                view: v,
                batch: Arc::new(reqs.iter().map(|&r| request(r)).collect()),
            })
            .collect(),
    }
}

#[test]
fn a_new_view_re_proposes_the_highest_view_certificate_and_fills_gaps_with_null_batches() {
    let proof = vec![
        (NodeId(0), vc(2, 0, &[(1, 0, &[10]), (3, 0, &[30])])),
        (NodeId(1), vc(2, 0, &[(1, 1, &[11])])),
        (NodeId(2), vc(2, 0, &[])),
    ];
    let batches = new_view_batches(&proof);
    let seqs: Vec<u64> = batches.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(batches[0].1[0].req, RequestId(11), "view 1's certificate beats view 0's");
    assert!(batches[1].1.is_empty(), "nothing prepared at 2: the null request");
    assert_eq!(batches[2].1[0].req, RequestId(30));
    // Above the highest stable checkpoint only.
    let proof = vec![(NodeId(0), vc(2, 0, &[(1, 0, &[10])])), (NodeId(1), vc(2, 64, &[]))];
    assert!(new_view_batches(&proof).is_empty());
}

#[test]
fn quorums_of_3f_plus_1_hold_2f_plus_1_and_any_two_share_an_honest_replica() {
    for (n, f, q) in [(4, 1, 3), (5, 1, 4), (7, 2, 5), (10, 3, 7)] {
        let mut node = PbftNode::new(NodeId(0), &PbftConfig::default(), None);
        node.n = n;
        assert_eq!((node.f(), node.quorum()), (f, q), "n = {n}");
        assert!(2 * q - n as usize > f, "two quorums of {q} among {n} overlap in more than f = {f}");
    }
}

#[test]
fn an_equivocating_replica_tells_the_far_side_of_the_null_request_consistently() {
    let batch: Batch = Arc::new(vec![request(1), request(2)]);
    let pre = PbftMsg::PrePrepare { view: 0, seq: 1, batch };
    let PbftMsg::PrePrepare { batch: lie, .. } = pre.tamper().unwrap() else { panic!() };
    assert!(lie.is_empty(), "a primary cannot invent requests: its other story is the null request");
    let vote = PbftMsg::Prepare { view: 0, seq: 1, digest: 7 };
    assert_eq!(vote.tamper(), Some(PbftMsg::Prepare { view: 0, seq: 1, digest: digest(&*lie) }), "and votes for it");
    assert_eq!(PbftMsg::PrePrepare { view: 0, seq: 1, batch: lie }.tamper(), None, "nothing to vary in a null request");
    assert!(pre.signed() && vote.signed());
}
