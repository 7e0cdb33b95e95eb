use super::*;
use snn_graph::{Block, BlockId, Edge};
use snn_hardware::{ChipId, CoreId};

fn core(chip: u32, core: u32) -> Slot {
    Slot::Core {
        chip: ChipId(chip),
        core: CoreId(core),
    }
}

/// A host input, two blocks and a probe on Kapoho Bay (2 chips), and three rows: two placements with
/// hand-set times (given out of order) and one failure.
fn fixture() -> (Network, Topology, Vec<Row>) {
    let blocks = vec![
        Block::new("in", 4).on_host(),
        Block::new("a", 10),
        Block::new("b", 10),
        Block::new("probe", 1).on_host(),
    ];
    let e = |s, d, w| Edge::new(BlockId(s), BlockId(d), w);
    let net = Network::new("t", blocks, vec![e(0, 1, 2.0), e(1, 2, 8.0), e(2, 3, 1.0)]).unwrap();
    let topo = Topology::preset("kapoho-bay").unwrap();
    let row = |name: &str, slots: Vec<Slot>, mean: f64, pace: &str| {
        let placement = Placement::new(slots, name, 0);
        let mut report = Report::new(&net, &topo, &placement, 0.25);
        report.time_per_step_us = Some(mean);
        Row {
            allocator: name.into(),
            outcome: Outcome::Placed(Box::new(Placed {
                placement,
                report,
                time_mean_us: mean,
                time_p99_us: mean + 0.5,
                energy_uj: mean / 10.0,
                pace: pace.into(),
                pace_share: 0.75,
            })),
            best: false,
            ratio_to_best: None,
        }
    };
    let rows = vec![
        row(
            "round-robin",
            vec![Slot::Host, core(0, 0), core(1, 0), Slot::Host],
            9.0,
            "chip 0 -> chip 1",
        ),
        Row {
            allocator: "ilp".into(),
            outcome: Outcome::Failed("does not fit: needs 3 chips".into()),
            best: false,
            ratio_to_best: None,
        },
        row(
            "greedy",
            vec![Slot::Host, core(0, 0), core(0, 1), Slot::Host],
            6.0,
            "host",
        ),
    ];
    (net, topo, rows)
}

fn ranked() -> (Network, Topology, Vec<Row>) {
    let (net, topo, mut rows) = fixture();
    rank(&mut rows);
    (net, topo, rows)
}

#[test]
fn rank_sorts_by_time_marks_the_best_and_puts_failures_last() {
    let (_, _, rows) = ranked();
    let names: Vec<_> = rows.iter().map(|r| r.allocator.as_str()).collect();
    assert_eq!(names, ["greedy", "round-robin", "ilp"]);
    assert_eq!(
        rows.iter().map(|r| r.best).collect::<Vec<_>>(),
        [true, false, false]
    );
    assert_eq!(rows[1].ratio_to_best, Some(1.5));
    assert_eq!(rows[2].ratio_to_best, None);
}

#[test]
fn table_snapshot() {
    let (_, _, rows) = ranked();
    // A raw string keeps the leading spaces of the unmarked rows; the first newline is the literal's.
    let expect = r#"
   allocator    chips  cores  inter-chip  hops  max link  host  us/step  p99  uJ/step  x best  pace                                 seconds
*  greedy           1      2           0     0         0     3        6  6.5      0.6    1.00  host (75%)                             0.250
   round-robin      2      2           8     8         8     3        9  9.5      0.9    1.50  chip 0 -> chip 1 (75%)                 0.250
   ilp              -      -           -     -         -     -        -    -        -       -  failed: does not fit: needs 3 chips        -
"#;
    assert_eq!(format!("\n{}", table(&rows, Style::default())), expect);
}

#[test]
fn markdown_snapshot_without_timing() {
    let (_, _, rows) = ranked();
    let expect = "\
|  | allocator | chips | cores | inter-chip | hops | max link | host | us/step | p99 | uJ/step | x best | pace |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|
| * | greedy | 1 | 2 | 0 | 0 | 0 | 3 | 6 | 6.5 | 0.6 | 1.00 | host (75%) |
|  | round-robin | 2 | 2 | 8 | 8 | 8 | 3 | 9 | 9.5 | 0.9 | 1.50 | chip 0 -> chip 1 (75%) |
|  | ilp | - | - | - | - | - | - | - | - | - | - | failed: does not fit: needs 3 chips |
";
    assert_eq!(markdown(&rows, Style { timing: false }), expect);
}

#[test]
fn csv_quotes_and_has_one_line_per_row() {
    let (_, _, mut rows) = ranked();
    rows[2].outcome = Outcome::Failed("a \"quoted\", reason".into());
    let text = csv(&rows, Style { timing: false });
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0], CSV_HEADER);
    // The energy column comes last, after `error` (appended, so readers of the older columns keep them).
    assert!(lines[1].starts_with("1,true,greedy,ok,1,2,0,0,0,3,6,6.5,1,host,0.75,,,0.6"));
    assert!(lines[3].ends_with(",\"a \"\"quoted\"\", reason\","));
}

#[test]
fn json_is_an_array_of_reports() {
    let (net, topo, rows) = ranked();
    let v = json(&rows, &net, &topo, 0, Style { timing: false });
    let all = v.as_array().unwrap();
    assert_eq!(all.len(), 3);
    for (i, r) in all.iter().enumerate() {
        assert_eq!(r["format"], "snn-report/1");
        assert_eq!(r["rank"], i + 1);
    }
    assert_eq!(all[0]["allocator"], "greedy");
    assert_eq!(all[0]["elapsed_s"], 0.0);
    assert_eq!(all[0]["best"], true);
    assert_eq!(all[2]["error"], "does not fit: needs 3 chips");
}

#[test]
fn html_is_self_contained_and_labels_the_busiest_link() {
    let (net, topo, rows) = ranked();
    let page = html(&rows, &net, &topo, Style::default());
    assert!(!page.contains("http"), "no external references");
    assert!(!page.contains("<script"));
    assert!(page.contains("busiest (circled): chip 0 -&gt; chip 1, 8 spikes/step"));
    assert!(page.contains("failed: does not fit: needs 3 chips"));
    // The name of a network is escaped.
    assert_eq!(esc_check("<a&b>"), "&lt;a&amp;b&gt;");
}

fn esc_check(s: &str) -> String {
    let blocks = vec![Block::new("x", 1)];
    let net = Network::new(s, blocks, vec![]).unwrap();
    let topo = Topology::preset("kapoho-bay").unwrap();
    let page = html(&[], &net, &topo, Style::default());
    let start = page.find("<h1>").unwrap() + 4;
    let title = &page[start..page.find("</h1>").unwrap()];
    title
        .trim_start_matches("snn-place compare: ")
        .trim_end_matches(" on kapoho-bay")
        .to_string()
}

#[test]
fn link_loads_and_cores_per_chip() {
    let (net, topo, rows) = ranked();
    let p = &rows[1].placed().unwrap().placement;
    let loads = link_loads(&net, &topo, p);
    assert_eq!(loads.iter().sum::<f64>(), 8.0);
    assert_eq!(cores_per_chip(&topo, p), [1, 1]);
}
