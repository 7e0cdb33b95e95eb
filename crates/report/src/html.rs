//! The self-contained HTML report: inline CSS and SVG only, no scripts, fonts or other fetches.

use std::fmt::Write as _;

use snn_graph::Network;
use snn_hardware::{Dir, Topology};

use crate::{all_cells, cores_per_chip, link_ends, link_loads, number, Outcome, Row, Style};

/// Escapes text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The widest a board drawing gets, in pixels; cells shrink to fit big boards (Pohoiki Springs' 768
/// chips), never below 6 pixels.
const BOARD_PX: f64 = 560.0;

/// One HTML page: the bar chart of time per step, the table, then per allocator the board drawn as its
/// chip mesh (chips shaded by cores used, links by expected spikes per step, the busiest labelled).
pub fn html(rows: &[Row], net: &Network, topo: &Topology, style: Style) -> String {
    let mut s = String::new();
    let title = format!("snn-place compare: {} on {}", net.name, topo.name);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>\n\
         body{{font-family:sans-serif;margin:16px;color:#222;background:#fff}}\n\
         table{{border-collapse:collapse;font-size:13px}}\n\
         td,th{{border:1px solid #bbb;padding:3px 6px;text-align:right}}\n\
         td.l,th.l{{text-align:left}}\ntr.best{{background:#e3f5e1}}\n\
         .board{{display:inline-block;vertical-align:top;margin:8px 16px 8px 0}}\n\
         </style></head><body>\n<h1>{}</h1>\n<p>{} blocks, {} edges; {} chips ({}x{}), {} cores per chip. \
         Spike figures are expected spikes per timestep; times are emulated microseconds per timestep.</p>\n",
        esc(&title),
        esc(&title),
        net.n_blocks(),
        net.edges().len(),
        topo.n_chips(),
        topo.chips().x,
        topo.chips().y,
        topo.cores_per_chip()
    );
    s += "<h2>Time per step</h2>\n";
    s += &bars(rows);
    s += "<h2>Table</h2>\n";
    s += &table(rows, style);
    s += "<h2>Placements on the board</h2>\n<p>Chips shaded by cores used (white: none, dark blue: all); \
          chip-to-chip links drawn wider and redder with more spikes per step (each direction on its own \
          side); the busiest link labelled.</p>\n";
    for r in rows {
        s += &board(r, net, topo);
    }
    s += "</body></html>\n";
    s
}

/// Horizontal bars of the mean time per step, best in green, failed rows named without a bar.
fn bars(rows: &[Row]) -> String {
    let (label_w, bar_w, h) = (200.0, 600.0, 22.0);
    let max = rows
        .iter()
        .filter_map(|r| r.placed().map(|p| p.time_mean_us))
        .fold(0.0f64, f64::max);
    let height = h * rows.len().max(1) as f64 + 10.0;
    let mut s = format!(
        "<svg width=\"{}\" height=\"{height}\" role=\"img\" \
         aria-label=\"time per step\">\n",
        label_w + bar_w + 160.0
    );
    for (i, r) in rows.iter().enumerate() {
        let y = 5.0 + i as f64 * h;
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"13\">{}</text>",
            label_w - 6.0,
            y + 15.0,
            esc(&r.allocator)
        );
        match &r.outcome {
            Outcome::Placed(p) => {
                let w = if max > 0.0 {
                    (bar_w * p.time_mean_us / max).max(1.0)
                } else {
                    1.0
                };
                let fill = if r.best { "#3a9a3a" } else { "#5b7fb8" };
                let _ = writeln!(
                    s,
                    "<rect x=\"{label_w}\" y=\"{}\" width=\"{w:.1}\" height=\"{}\" fill=\"{fill}\"/>\
                     <text x=\"{:.1}\" y=\"{}\" font-size=\"12\">{} us{}</text>",
                    y + 2.0,
                    h - 6.0,
                    label_w + w + 4.0,
                    y + 15.0,
                    number(p.time_mean_us),
                    match r.ratio_to_best {
                        Some(x) if !r.best => format!(" (x{x:.2})"),
                        _ => " (best)".into(),
                    }
                );
            }
            Outcome::Failed(_) => {
                let _ = writeln!(
                    s,
                    "<text x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"#a00\">failed</text>",
                    label_w + 4.0,
                    y + 15.0
                );
            }
        }
    }
    s += "</svg>\n";
    s
}

fn table(rows: &[Row], style: Style) -> String {
    let (head, body) = all_cells(rows, style);
    let left = |i: usize| i <= 1 || i == crate::PACE_COLUMN;
    let mut s = String::from("<table>\n<tr>");
    for (i, h) in head.iter().enumerate() {
        let class = if left(i) { " class=\"l\"" } else { "" };
        let _ = write!(s, "<th{class}>{}</th>", esc(h));
    }
    s += "</tr>\n";
    for (r, cells) in rows.iter().zip(body) {
        s += if r.best {
            "<tr class=\"best\">"
        } else {
            "<tr>"
        };
        for (i, c) in cells.iter().enumerate() {
            let class = if left(i) { " class=\"l\"" } else { "" };
            let _ = write!(s, "<td{class}>{}</td>", esc(c));
        }
        s += "</tr>\n";
    }
    s += "</table>\n";
    s
}

/// A colour from white (0) to dark blue (1).
fn chip_fill(f: f64) -> String {
    let f = f.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        lerp(255.0, 30.0),
        lerp(255.0, 70.0),
        lerp(255.0, 160.0)
    )
}

/// A colour from grey-orange (light load) to red (the busiest link).
fn link_colour(f: f64) -> String {
    let f = f.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        lerp(240.0, 200.0),
        lerp(170.0, 0.0),
        lerp(60.0, 0.0)
    )
}

/// One allocator's placement drawn on the chip mesh (y grows upwards, as the topology's north).
fn board(r: &Row, net: &Network, topo: &Topology) -> String {
    let mut s = format!(
        "<div class=\"board\"><h3>{}{}</h3>\n",
        esc(&r.allocator),
        if r.best { " (best)" } else { "" }
    );
    let p = match &r.outcome {
        Outcome::Placed(p) => p,
        Outcome::Failed(e) => {
            let _ = writeln!(s, "<p>failed: {}</p></div>", esc(e));
            return s;
        }
    };
    let g = topo.chips();
    let cell = (BOARD_PX / g.x.max(g.y) as f64).clamp(6.0, 60.0);
    let pad = 24.0;
    // At least wide enough for the busiest link's label above the mesh.
    let (w, h) = (
        (g.x as f64 * cell + 2.0 * pad).max(380.0),
        g.y as f64 * cell + 2.0 * pad,
    );
    let center = |c: snn_hardware::ChipId| {
        let (x, y) = topo.chip_xy(c);
        (
            pad + (x as f64 + 0.5) * cell,
            pad + (g.y - 1 - y) as f64 * cell + 0.5 * cell,
        )
    };
    let _ = writeln!(
        s,
        "<p>{} chips, {} cores; {} us per step, pace: {}</p>",
        p.report.chips_used,
        p.report.cores_used,
        number(p.time_mean_us),
        esc(&p.pace)
    );
    let _ = writeln!(s, "<svg width=\"{w:.0}\" height=\"{h:.0}\" role=\"img\">");
    let cores = cores_per_chip(topo, &p.placement);
    let per_chip = topo.cores_per_chip() as f64;
    let gap = (cell * 0.12).max(1.0);
    for (i, &n) in cores.iter().enumerate() {
        let (cx, cy) = center(snn_hardware::ChipId(i as u32));
        let _ = write!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\" stroke=\"#888\" \
             stroke-width=\"{}\"><title>chip {i}: {n} cores</title></rect>",
            cx - cell / 2.0 + gap,
            cy - cell / 2.0 + gap,
            cell - 2.0 * gap,
            cell - 2.0 * gap,
            chip_fill(n as f64 / per_chip),
            if cell >= 12.0 { 1.0 } else { 0.3 }
        );
        if cell >= 30.0 && n > 0 {
            let _ = write!(
                s,
                "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\" fill=\"{}\">{n}</text>",
                cy + 4.0,
                if n as f64 / per_chip > 0.5 { "#fff" } else { "#333" }
            );
        }
    }
    s.push('\n');
    let loads = link_loads(net, topo, &p.placement);
    let max = loads.iter().copied().fold(0.0f64, f64::max);
    let mut busiest = None;
    for (slot, &load) in loads.iter().enumerate() {
        if load <= 0.0 {
            continue;
        }
        if !matches!(busiest, Some((_, b)) if load <= b) {
            busiest = Some((slot, load));
        }
        let (l, to) = link_ends(topo, slot);
        let ((x1, y1), (x2, y2)) = (center(l.from), center(to));
        // The two directions of a link sit side by side: east and north on one side, west and south on
        // the other.
        let off = cell * 0.12;
        let (dx, dy) = match l.dir {
            Dir::East => (0.0, -off),
            Dir::West => (0.0, off),
            Dir::North => (off, 0.0),
            Dir::South => (-off, 0.0),
        };
        let f = load / max;
        let width = (cell * 0.02 + f * cell * 0.16).max(0.6);
        let _ = write!(
            s,
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"{width:.2}\" \
             stroke-linecap=\"round\"><title>{} -&gt; {}: {} spikes/step</title></line>",
            x1 + dx,
            y1 + dy,
            x2 + dx,
            y2 + dy,
            link_colour(f),
            l.from,
            to,
            number(load)
        );
    }
    s.push('\n');
    match busiest {
        Some((slot, load)) => {
            let (l, to) = link_ends(topo, slot);
            let ((x1, y1), (x2, y2)) = (center(l.from), center(to));
            let (mx, my) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0);
            let _ = writeln!(
                s,
                "<circle cx=\"{mx:.1}\" cy=\"{my:.1}\" r=\"{:.1}\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.5\"/>\
                 <text x=\"4\" y=\"15\" font-size=\"12\" font-weight=\"bold\">busiest (circled): {} -&gt; {}, {} spikes/step</text>",
                (cell * 0.3).max(4.0),
                l.from,
                to,
                number(load)
            );
        }
        None => {
            let _ = writeln!(
                s,
                "<text x=\"4\" y=\"15\" font-size=\"12\">no spikes between chips</text>"
            );
        }
    }
    s += "</svg></div>\n";
    s
}
