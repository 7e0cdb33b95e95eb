//! The host's part in a step: which host blocks sit in the loop (take spikes from the chips and send
//! spikes back to them, directly or through other host blocks), and which on-chip blocks the host reads
//! every step.
//!
//! nengo-loihi can precompute a network's inputs (`precompute=True`) only when nothing the host sends the
//! chips depends on what the chips send the host; otherwise it runs one step at a time, a host round trip
//! per step. [`host_loop`] finds the host blocks that make such a dependency.

use snn_graph::{BlockId, Network};

/// The host blocks in the loop, in id order: each is reached from an on-chip block (directly or through
/// host blocks) and reaches an on-chip block (directly or through host blocks). Every edge counts, whatever
/// its `spikes`: a connection is a dependency even in a step that sends nothing over it.
pub fn host_loop(net: &Network) -> Vec<BlockId> {
    let blocks = net.blocks();
    let n = blocks.len();
    // Host-to-host edges, both ways, as adjacency lists (edge order).
    let mut fwd: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut back: Vec<Vec<u32>> = vec![Vec::new(); n];
    let (mut fed, mut feeds) = (vec![false; n], vec![false; n]);
    for e in net.edges() {
        let (s, d) = (e.src.idx(), e.dst.idx());
        match (blocks[s].host, blocks[d].host) {
            (true, true) => {
                fwd[s].push(d as u32);
                back[d].push(s as u32);
            }
            (false, true) => fed[d] = true,
            (true, false) => feeds[s] = true,
            (false, false) => {}
        }
    }
    spread(&mut fed, &fwd);
    spread(&mut feeds, &back);
    (0..n)
        .filter(|&b| fed[b] && feeds[b])
        .map(|b| BlockId(b as u32))
        .collect()
}

/// Marks every block reachable from a marked one along `adj`.
fn spread(marked: &mut [bool], adj: &[Vec<u32>]) {
    let mut stack: Vec<u32> = (0..marked.len() as u32)
        .filter(|&b| marked[b as usize])
        .collect();
    while let Some(b) = stack.pop() {
        for &c in &adj[b as usize] {
            if !marked[c as usize] {
                marked[c as usize] = true;
                stack.push(c);
            }
        }
    }
}

/// The on-chip blocks the host reads every step: those with an edge to a host block, each once, in id
/// order. Each of their compartments is a probed value (nengo-loihi probes a block's compartments, and a
/// connection from the chip to the host is a probe).
pub fn probed_blocks(net: &Network) -> Vec<BlockId> {
    let blocks = net.blocks();
    let mut probed = vec![false; blocks.len()];
    for e in net.edges() {
        if !blocks[e.src.idx()].host && blocks[e.dst.idx()].host {
            probed[e.src.idx()] = true;
        }
    }
    (0..blocks.len())
        .filter(|&b| probed[b])
        .map(|b| BlockId(b as u32))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use snn_graph::{Block, Edge};

    /// Blocks named by their first letter: `h...` on the host, others on chip; edges `"a>b"`. Checks the
    /// loop's block names against `expect`.
    fn check(blocks: &[&str], edges: &[&str], expect: &[&str]) {
        let bs: Vec<Block> = blocks
            .iter()
            .map(|&name| {
                let b = Block::new(name, 4);
                if name.starts_with('h') {
                    b.on_host()
                } else {
                    b
                }
            })
            .collect();
        let id = |name: &str| BlockId(blocks.iter().position(|&b| b == name).unwrap() as u32);
        let es = edges
            .iter()
            .map(|e| {
                let (s, d) = e.split_once('>').unwrap();
                Edge::new(id(s), id(d), 1.0)
            })
            .collect();
        let net = Network::new("t", bs, es).unwrap();
        let got: Vec<&str> = host_loop(&net).iter().map(|b| blocks[b.idx()]).collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn a_host_block_fed_by_the_chip_and_feeding_it_is_in_the_loop() {
        check(&["a", "hconv", "b"], &["a>hconv", "hconv>b"], &["hconv"]);
        // Back to the same block: still a loop.
        check(&["a", "hconv"], &["a>hconv", "hconv>a"], &["hconv"]);
    }

    #[test]
    fn chains_of_host_blocks_are_in_the_loop_together() {
        check(
            &["a", "h1", "h2", "h3", "b"],
            &["a>h1", "h1>h2", "h2>h3", "h3>b"],
            &["h1", "h2", "h3"],
        );
        // A side branch that only reads (a probe of h1) is not in the loop.
        check(
            &["a", "h1", "hprobe", "b"],
            &["a>h1", "h1>hprobe", "h1>b"],
            &["h1"],
        );
    }

    #[test]
    fn inputs_and_probes_are_not_a_loop() {
        // Input -> chip -> probe: the input depends on nothing the chip sends.
        check(&["hin", "a", "hprobe"], &["hin>a", "a>hprobe"], &[]);
        // A chain of host inputs, and a probe feeding a host-only consumer.
        check(
            &["hin", "hpre", "a", "hprobe", "hlog"],
            &["hin>hpre", "hpre>a", "a>hprobe", "hprobe>hlog"],
            &[],
        );
        // No host blocks at all.
        check(&["a", "b"], &["a>b", "b>a"], &[]);
    }

    #[test]
    fn probed_blocks_are_the_chip_blocks_that_send_to_the_host() {
        let blocks = vec![
            Block::new("in", 2).on_host(),
            Block::new("a", 4),
            Block::new("b", 4),
            Block::new("p", 2).on_host(),
            Block::new("q", 2).on_host(),
        ];
        let e = |s, d| Edge::new(BlockId(s), BlockId(d), 1.0);
        let net = Network::new("t", blocks, vec![e(0, 1), e(1, 2), e(2, 3), e(2, 4)]).unwrap();
        assert_eq!(probed_blocks(&net), vec![BlockId(2)]);
    }
}
