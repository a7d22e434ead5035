//! The space-time (message sequence) diagram of a window of a run: one column per node, time
//! running down, each delivered message an arrow from its sender at the sending instant to its
//! receiver at delivery, client requests and timers as marks, faults as labelled lines across.

use plotters::prelude::*;
use syncsim_sim::trace::{TraceKind, TraceRecord};
use syncsim_sim::{SimDuration, SimTime};

use crate::perfetto::first_word;

/// Arrows drawn at most; a busier window is cut, and the title says so.
const MAX_ARROWS: usize = 2000;
/// Arrows labelled at most: labels on a busier window would only make a smudge.
const MAX_LABELS: usize = 120;

/// Parses a window `10s..12s` (durations with units) into its bounds.
pub fn parse_window(text: &str) -> Result<(SimTime, SimTime), String> {
    let (a, b) = text.split_once("..").ok_or_else(|| format!("`{text}`: write a window as `10s..12s`"))?;
    let a: SimDuration = a.trim().parse().map_err(|e| format!("`{text}`: {e}"))?;
    let b: SimDuration = b.trim().parse().map_err(|e| format!("`{text}`: {e}"))?;
    if b <= a {
        return Err(format!("`{text}`: the window ends before it begins"));
    }
    Ok((SimTime(a.as_nanos()), SimTime(b.as_nanos())))
}

/// Messages a diagram of the moments before a failure shows: enough to follow the exchange
/// that led to it, few enough that every arrow keeps its label.
pub const BEFORE_FAILURE: usize = 40;

/// The window that ends at `at` (and includes `from_at_least`, when earlier) and reaches back
/// to the sending of the `messages`-th last message delivered by then.
pub fn window_before(
    records: &[TraceRecord],
    at: SimTime,
    messages: usize,
    from_at_least: SimTime,
) -> (SimTime, SimTime) {
    let mut sent: Vec<SimTime> =
        records.iter().filter(|r| r.kind == TraceKind::Deliver && r.time <= at).filter_map(|r| r.sent).collect();
    sent.sort_unstable();
    let back = sent.len().saturating_sub(messages.max(1));
    let from = sent.get(back).copied().unwrap_or(at).min(from_at_least);
    // A window of one instant draws nothing; give it a microsecond on each side.
    let from = SimTime(from.0.min(at.0.saturating_sub(1_000)));
    (from, SimTime(at.0 + 1_000))
}

/// Draws the diagram of `records` between `from` and `to`; `names` names the columns.
pub fn diagram(records: &[TraceRecord], names: &[String], from: SimTime, to: SimTime) -> Result<String, String> {
    let in_window = |t: SimTime| t >= from && t <= to;
    let arrows: Vec<&TraceRecord> = records
        .iter()
        .filter(|r| r.kind == TraceKind::Deliver && (in_window(r.time) || r.sent.is_some_and(in_window)))
        .collect();
    let cut = arrows.len() > MAX_ARROWS;
    let arrows = &arrows[..arrows.len().min(MAX_ARROWS)];
    let marks: Vec<&TraceRecord> =
        records.iter().filter(|r| r.kind != TraceKind::Deliver && in_window(r.time)).collect();
    let ms = |t: SimTime| t.0 as f64 / 1e6;
    let (y0, y1) = (ms(from), ms(to));
    let n = names.len().max(1);
    let width = (160 * n as u32).clamp(700, 2400);
    let title = format!(
        "Messages between {} and {}{}",
        crate::report::format_ns(from.0),
        crate::report::format_ns(to.0),
        if cut { format!(" (first {MAX_ARROWS} shown)") } else { String::new() }
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, 900)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(36)
            .top_x_label_area_size(36)
            .y_label_area_size(84)
            // Time runs down the page.
            .build_cartesian_2d(-0.5f64..n as f64 - 0.5, y1..y0)
            .map_err(|e| e.to_string())?;
        let labels: Vec<String> = names.to_vec();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n * 2 + 1)
            .x_label_formatter(&|x: &f64| {
                let i = x.round();
                if (x - i).abs() < 1e-9 && i >= 0.0 {
                    labels.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v: &f64| format!("{v:.1}"))
            .label_style(("sans-serif", 17))
            .axis_desc_style(("sans-serif", 17))
            .y_desc("simulated time (ms)")
            .draw()
            .map_err(|e| e.to_string())?;
        // A lifeline per node.
        chart
            .draw_series(
                (0..n).map(|i| PathElement::new(vec![(i as f64, y0), (i as f64, y1)], BLACK.mix(0.35).stroke_width(1))),
            )
            .map_err(|e| e.to_string())?;
        let mut faults_drawn = 0;
        for r in &marks {
            let y = ms(r.time);
            match (r.kind, r.node) {
                (TraceKind::Fault, _) => {
                    chart
                        .draw_series(std::iter::once(PathElement::new(
                            vec![(-0.5, y), (n as f64 - 0.5, y)],
                            RGBColor(214, 39, 40).stroke_width(2),
                        )))
                        .map_err(|e| e.to_string())?;
                    // Faults at one instant stack their labels instead of overprinting them.
                    let label = EmptyElement::at((-0.45, y))
                        + Text::new(
                            r.detail.clone(),
                            (2, -14 - 14 * (faults_drawn % 4)),
                            ("sans-serif", 14).into_font().color(&RGBColor(214, 39, 40)),
                        );
                    faults_drawn += 1;
                    chart.draw_series(std::iter::once(label)).map_err(|e| e.to_string())?;
                }
                (kind, Some(node)) => {
                    let colour = match kind {
                        TraceKind::Request => RGBColor(44, 160, 44),
                        TraceKind::Reply => RGBColor(31, 119, 180),
                        _ => RGBColor(150, 150, 150),
                    };
                    chart
                        .draw_series(std::iter::once(Circle::new((f64::from(node.0), y), 3, colour.filled())))
                        .map_err(|e| e.to_string())?;
                }
                _ => {}
            }
        }
        let label_arrows = arrows.len() <= MAX_LABELS;
        for r in arrows {
            let (Some(to_node), Some(from_node), Some(sent)) = (r.node, r.from, r.sent) else { continue };
            let (x0, x1) = (f64::from(from_node.0), f64::from(to_node.0));
            let (t0, t1) = (ms(sent).max(y0), ms(r.time).min(y1));
            let colour = RGBColor(31, 119, 180);
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x0, t0), (x1, t1)],
                    colour.mix(0.7).stroke_width(1),
                )))
                .map_err(|e| e.to_string())?;
            // The head: a filled dot where the message lands.
            chart
                .draw_series(std::iter::once(TriangleMarker::new((x1, t1), 5, colour.filled())))
                .map_err(|e| e.to_string())?;
            if label_arrows {
                let label = EmptyElement::at(((x0 + x1) / 2.0, (t0 + t1) / 2.0))
                    + Text::new(first_word(&r.detail), (3, -6), ("sans-serif", 13).into_font().color(&colour));
                chart.draw_series(std::iter::once(label)).map_err(|e| e.to_string())?;
            }
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_two_durations_in_order() {
        assert_eq!(parse_window("10s..12.5s"), Ok((SimTime(10_000_000_000), SimTime(12_500_000_000))));
        assert!(parse_window("12s..10s").unwrap_err().contains("ends before"));
        assert!(parse_window("10s").unwrap_err().contains("10s..12s"));
        assert!(parse_window("10..12s").is_err(), "units are required");
    }
}
