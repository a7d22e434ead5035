//! Charts as self-contained SVG, drawn with plotters.

use plotters::prelude::*;

/// Colours for series, in order: distinguishable, and the same for the same position on every
/// chart of a page.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// A series' legend mark: a short line in its colour.
fn legend_line(colour: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(3))
}

/// The outline of a band given as (low point, high point) pairs in order along it: out along
/// the low side, back along the high side.
fn band_outline(pairs: impl Iterator<Item = ((f64, f64), (f64, f64))>) -> Vec<(f64, f64)> {
    let (low, high): (Vec<_>, Vec<_>) = pairs.unzip();
    low.into_iter().chain(high.into_iter().rev()).collect()
}

/// An axis span for values from `lo` to `hi` that shows them: values all (nearly) equal get
/// room on both sides, so a curve does not sit on the frame with every tick the same.
fn readable_span(lo: f64, hi: f64) -> (f64, f64) {
    let scale = lo.abs().max(hi.abs()).max(1e-9);
    if hi - lo >= 0.1 * scale {
        return (lo, hi);
    }
    let pad = 0.1 * scale;
    // Latencies and counts never go below zero; keep the axis from suggesting they do.
    let floor = if lo >= 0.0 { 0.0 } else { f64::NEG_INFINITY };
    ((lo - pad).max(floor), hi + pad)
}

/// A tick label without trailing zeros: `180`, `2.5`, `0.25`; tiny values in exponent form.
fn tick(v: f64) -> String {
    if v != 0.0 && v.abs() < 1e-3 {
        return format!("{v:.1e}");
    }
    let fixed = format!("{v:.3}");
    let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
    if trimmed == "-0" { "0".to_string() } else { trimmed.to_string() }
}

/// One line of a chart: its label and its (x, y) points.
pub type Series = (String, Vec<(f64, f64)>);

/// A cumulative distribution chart: x is a value (in `x_label`'s unit), y the percentage of
/// samples at or below it; `log_x` puts x on a log scale. Returns the SVG text.
pub fn cdf(title: &str, x_label: &str, series: &[Series], log_x: bool) -> Result<String, String> {
    cdf_with_bands(title, x_label, series, &[], log_x)
}

/// A [`cdf`] with, per series (same index), a band of (percent, low, high): the spread of the
/// value at each percentile across seeds. Empty bands draw nothing.
pub fn cdf_with_bands(
    title: &str,
    x_label: &str,
    series: &[Series],
    bands: &[Vec<(f64, f64, f64)>],
    log_x: bool,
) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 520)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let xs = series.iter().flat_map(|(_, p)| p.iter().map(|(x, _)| *x));
        let band_xs = bands.iter().flatten().flat_map(|&(_, lo, hi)| [lo, hi]);
        let (lo, hi) = xs.chain(band_xs).fold((f64::INFINITY, 0.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
        let (lo, hi) = if lo.is_finite() { readable_span(lo, hi) } else { (1.0, 10.0) };
        let mut builder = ChartBuilder::on(&root);
        builder.caption(title, ("sans-serif", 22)).margin(16).x_label_area_size(48).y_label_area_size(56);
        macro_rules! draw {
            ($chart:expr) => {{
                let mut chart = $chart.map_err(|e| e.to_string())?;
                chart
                    .configure_mesh()
                    .x_label_formatter(&|v: &f64| tick(*v))
                    .y_label_formatter(&|v: &f64| tick(*v))
                    .x_desc(x_label)
                    .y_desc("cumulative percent")
                    .draw()
                    .map_err(|e| e.to_string())?;
                for (i, band) in bands.iter().enumerate().filter(|(_, b)| !b.is_empty()) {
                    let colour = PALETTE[i % PALETTE.len()];
                    // Bands of a CDF run across: (percent, low x, high x).
                    let outline = band_outline(band.iter().map(|&(q, lo, hi)| ((lo, q), (hi, q))));
                    chart
                        .draw_series(std::iter::once(Polygon::new(outline, colour.mix(0.18).filled())))
                        .map_err(|e| e.to_string())?;
                }
                for (i, (label, points)) in series.iter().enumerate() {
                    let colour = PALETTE[i % PALETTE.len()];
                    chart
                        .draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))
                        .map_err(|e| e.to_string())?
                        .label(label.as_str())
                        .legend(legend_line(colour));
                }
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::LowerRight)
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .draw()
                    .map_err(|e| e.to_string())?;
            }};
        }
        if log_x {
            let lo = lo.max(1e-3);
            draw!(builder.build_cartesian_2d((lo * 0.9..hi * 1.1).log_scale(), 0f64..100f64));
        } else {
            draw!(builder.build_cartesian_2d(0f64..hi * 1.05, 0f64..100f64));
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// A span of the x axis to shade: when a fault was in force.
#[derive(Clone, Debug, PartialEq)]
pub struct Shade {
    /// Start, in x units.
    pub from: f64,
    /// End, in x units.
    pub to: f64,
    /// Its label, drawn at the top of the span.
    pub label: String,
    /// What kind of fault, which picks its colour.
    pub kind: &'static str,
}

/// How a time chart draws its series.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Style {
    /// Lines through the points.
    Lines,
    /// A dot per point.
    Dots,
}

/// A chart over time: x in seconds of simulated time, one or more series, fault windows
/// shaded; an optional second series set against a right-hand axis.
#[derive(Clone, Debug)]
pub struct TimeChart<'a> {
    /// Title.
    pub title: &'a str,
    /// The left axis' label, with its unit.
    pub y_label: &'a str,
    /// The series against the left axis.
    pub series: &'a [Series],
    /// How to draw them.
    pub style: Style,
    /// A logarithmic left axis (for latencies spanning orders of magnitude).
    pub log_y: bool,
    /// A right-hand axis: its label and series (drawn as lines, after the left palette).
    pub right: Option<(&'a str, &'a [Series])>,
    /// Fault windows.
    pub shades: &'a [Shade],
    /// The x range (seconds): the run's length.
    pub x_max: f64,
    /// Per left series (same index), a band of (x, low, high) drawn under its line: the spread
    /// across seeds. Empty: no bands.
    pub bands: &'a [Vec<(f64, f64, f64)>],
}

/// The fill of a fault window of `kind`.
fn shade_colour(kind: &str) -> RGBColor {
    match kind {
        "partition" | "cut" => RGBColor(214, 39, 40),
        "crash" => RGBColor(120, 120, 120),
        "pause" => RGBColor(148, 103, 189),
        _ => RGBColor(255, 127, 14),
    }
}

/// Draws a [`TimeChart`]; returns the SVG text.
pub fn time_chart(c: &TimeChart<'_>) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let ys = c.series.iter().flat_map(|(_, p)| p.iter().map(|(_, y)| *y));
        let (lo, hi) = ys.fold((f64::INFINITY, 0.0f64), |(lo, hi), y| (lo.min(y), hi.max(y)));
        let hi = if hi > 0.0 { hi * 1.08 } else { 1.0 };
        let x_max = c.x_max.max(1e-3);
        let mut builder = ChartBuilder::on(&root);
        builder
            .caption(c.title, ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .right_y_label_area_size(if c.right.is_some() { 64 } else { 0 });
        let right_hi = c
            .right
            .map(|(_, r)| r.iter().flat_map(|(_, p)| p.iter().map(|(_, y)| *y)).fold(0.0f64, f64::max))
            .filter(|&h| h > 0.0)
            .map_or(1.0, |h| h * 1.08);
        macro_rules! draw {
            ($chart:expr, $y_lo:expr, $y_hi:expr) => {{
                // The right axis takes its label area before the mesh is drawn, so that the
                // left axis' labels stay on the left.
                let mut chart = $chart.map_err(|e| e.to_string())?.set_secondary_coord(0f64..x_max, 0f64..right_hi);
                chart
                    .configure_mesh()
                    .x_label_formatter(&|v: &f64| tick(*v))
                    .y_label_formatter(&|v: &f64| tick(*v))
                    .x_desc("simulated time (s)")
                    .y_desc(c.y_label)
                    .light_line_style(WHITE.mix(0.0))
                    .draw()
                    .map_err(|e| e.to_string())?;
                if let Some((right_label, _)) = c.right {
                    chart.configure_secondary_axes().y_desc(right_label).draw().map_err(|e| e.to_string())?;
                }
                for (i, shade) in c.shades.iter().enumerate() {
                    let colour = shade_colour(shade.kind);
                    let (from, to) = (shade.from.max(0.0), shade.to.min(x_max));
                    chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [(from, $y_lo), (to, $y_hi)],
                            colour.mix(0.12).filled(),
                        )))
                        .map_err(|e| e.to_string())?;
                    // Labels step down the chart so that overlapping windows stay readable.
                    let label = EmptyElement::at((from, $y_hi))
                        + Text::new(
                            shade.label.clone(),
                            (3, 3 + 14 * (i % 6) as i32),
                            ("sans-serif", 12).into_font().color(&colour),
                        );
                    chart.draw_series(std::iter::once(label)).map_err(|e| e.to_string())?;
                }
                for (i, band) in c.bands.iter().enumerate().filter(|(_, b)| !b.is_empty()) {
                    let colour = PALETTE[i % PALETTE.len()];
                    let outline = band_outline(band.iter().map(|&(x, lo, hi)| ((x, lo), (x, hi))));
                    chart
                        .draw_series(std::iter::once(Polygon::new(outline, colour.mix(0.15).filled())))
                        .map_err(|e| e.to_string())?;
                }
                for (i, (label, points)) in c.series.iter().enumerate() {
                    let colour = PALETTE[i % PALETTE.len()];
                    let drawn = match c.style {
                        Style::Lines => chart
                            .draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))
                            .map_err(|e| e.to_string())?,
                        Style::Dots => chart
                            .draw_series(points.iter().map(|&p| Circle::new(p, 2, colour.mix(0.6).filled())))
                            .map_err(|e| e.to_string())?,
                    };
                    drawn.label(label.as_str()).legend(legend_line(colour));
                }
                for (j, (label, points)) in c.right.map_or(&[][..], |(_, r)| r).iter().enumerate() {
                    let colour = PALETTE[(c.series.len() + j) % PALETTE.len()];
                    chart
                        .draw_secondary_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))
                        .map_err(|e| e.to_string())?
                        .label(label.as_str())
                        .legend(legend_line(colour));
                }
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperRight)
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .draw()
                    .map_err(|e| e.to_string())?;
            }};
        }
        if c.log_y {
            let lo = if lo.is_finite() { lo.max(1e-3) } else { 1e-3 };
            let (y_lo, y_hi) = (lo * 0.8, hi.max(lo * 10.0));
            draw!(builder.build_cartesian_2d(0f64..x_max, (y_lo..y_hi).log_scale()), y_lo, y_hi);
        } else {
            draw!(builder.build_cartesian_2d(0f64..x_max, 0f64..hi), 0.0, hi);
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// One bar of a bar chart: the median across seeds and the p10–p90 spread around it.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Bar {
    /// The median.
    pub median: f64,
    /// The 10th percentile.
    pub p10: f64,
    /// The 90th percentile.
    pub p90: f64,
}

/// A grouped bar chart: one group per entry of `groups` (e.g. p50, p99), one bar per variant
/// in each, coloured by variant, with the p10–p90 spread as an error bar. `bars[v][g]` is
/// variant `v`'s bar in group `g`.
pub fn bars(
    title: &str,
    y_label: &str,
    groups: &[&str],
    variants: &[(String, Vec<Bar>)],
    log_y: bool,
) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let all = variants.iter().flat_map(|(_, b)| b.iter().flat_map(|b| [b.p90, b.median]));
        let hi = all.clone().fold(0.0f64, f64::max);
        let lo = all.filter(|&v| v > 0.0).fold(f64::INFINITY, f64::min);
        let hi = if hi > 0.0 { hi * 1.15 } else { 1.0 };
        let n = variants.len().max(1) as f64;
        let g = groups.len().max(1) as f64;
        let mut builder = ChartBuilder::on(&root);
        builder.caption(title, ("sans-serif", 20)).margin(14).x_label_area_size(36).y_label_area_size(70);
        macro_rules! draw {
            ($chart:expr, $base:expr) => {{
                let mut chart = $chart.map_err(|e| e.to_string())?;
                let names: Vec<String> = groups.iter().map(|s| s.to_string()).collect();
                chart
                    .configure_mesh()
                    .y_label_formatter(&|v: &f64| tick(*v))
                    .disable_x_mesh()
                    .x_labels(groups.len() * 2 + 1)
                    // Group names sit under the middle of their group.
                    .x_label_formatter(&|x: &f64| {
                        let i = x.floor() as usize;
                        if (x - x.floor() - 0.5).abs() < 1e-9 {
                            names.get(i).cloned().unwrap_or_default()
                        } else {
                            String::new()
                        }
                    })
                    .y_desc(y_label)
                    .draw()
                    .map_err(|e| e.to_string())?;
                for (v, (label, bars)) in variants.iter().enumerate() {
                    let colour = PALETTE[v % PALETTE.len()];
                    let width = 0.8 / n;
                    let x0 = |gi: usize| gi as f64 + 0.1 + v as f64 * width;
                    chart
                        .draw_series(bars.iter().enumerate().map(|(gi, b)| {
                            Rectangle::new(
                                [(x0(gi), $base), (x0(gi) + width * 0.9, b.median.max($base))],
                                colour.filled(),
                            )
                        }))
                        .map_err(|e| e.to_string())?
                        .label(label.as_str())
                        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], colour.filled()));
                    chart
                        .draw_series(bars.iter().enumerate().map(|(gi, b)| {
                            let mid = x0(gi) + width * 0.45;
                            PathElement::new(
                                vec![(mid, b.p10.max($base)), (mid, b.p90.max($base))],
                                BLACK.stroke_width(2),
                            )
                        }))
                        .map_err(|e| e.to_string())?;
                }
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperRight)
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .draw()
                    .map_err(|e| e.to_string())?;
            }};
        }
        if log_y && lo.is_finite() {
            let base = lo * 0.5;
            draw!(builder.build_cartesian_2d(0f64..g, (base..hi).log_scale()), base);
        } else {
            draw!(builder.build_cartesian_2d(0f64..g, 0f64..hi), 0.0);
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// At most `max` of `points`, evenly spread (deterministic), so charts stay light.
pub fn thin<T: Copy>(points: &[T], max: usize) -> Vec<T> {
    if points.len() <= max {
        return points.to_vec();
    }
    let step = points.len().div_ceil(max.max(1));
    points.iter().step_by(step).copied().collect()
}

/// The CDF points of `samples` out of `total` trials: (value, percent of trials at or below),
/// at most about `points` of them. Trials without a sample (that never finished) keep the
/// curve below 100%.
pub fn cdf_points(samples: &[f64], total: usize, points: usize) -> Vec<(f64, f64)> {
    let mut xs = samples.to_vec();
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    let total = total.max(n) as f64;
    if n == 0 {
        return vec![];
    }
    let step = (n / points.max(1)).max(1);
    let mut out: Vec<(f64, f64)> = (0..n).step_by(step).map(|i| (xs[i], 100.0 * (i + 1) as f64 / total)).collect();
    if out.last().is_none_or(|&(x, _)| x != xs[n - 1]) {
        out.push((xs[n - 1], 100.0 * n as f64 / total));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cdf_chart_has_its_title_axes_and_every_series() {
        let a = cdf_points(&[1.0, 2.0, 3.0, 10.0], 4, 100);
        assert_eq!(a.last(), Some(&(10.0, 100.0)));
        assert_eq!(cdf_points(&[1.0, 2.0, 3.0], 6, 100).last(), Some(&(3.0, 50.0)), "unfinished trials count");
        let svg = cdf("Downtime", "ms", &[("150-300ms".into(), a.clone()), ("150-150ms".into(), a)], true).unwrap();
        assert!(svg.starts_with("<svg"));
        for needle in ["Downtime", "ms", "cumulative percent", "150-300ms", "150-150ms", "<polyline"] {
            assert!(svg.contains(needle), "missing {needle}");
        }
    }
}

/// One operation on an [`operation_lanes`] chart.
#[derive(Clone, Debug, PartialEq)]
pub struct LaneOp {
    /// Its lane (client), by index.
    pub lane: usize,
    /// Start and end, in x units; an operation that never returned runs to the right edge.
    pub from: f64,
    /// See `from`.
    pub to: f64,
    /// True when it never returned.
    pub open: bool,
    /// Its label, drawn on the bar.
    pub label: String,
    /// How to draw it.
    pub mark: LaneMark,
}

/// What an operation on a lane chart was in the check.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LaneMark {
    /// In the longest linearizable prefix.
    Linearized,
    /// The one no order can place.
    Stuck,
    /// Overlapping it, not linearized.
    Other,
}

/// Operations as bars on a time axis, one lane per client, as Porcupine's visualizer shows a
/// linearizability violation: linearized operations blue, the one that cannot be placed red,
/// the rest grey; an operation that never returned is drawn open to the right edge.
pub fn operation_lanes(title: &str, x_label: &str, lanes: &[String], ops: &[LaneOp]) -> Result<String, String> {
    let mut svg = String::new();
    {
        let height = (120 + 44 * lanes.len()).min(1400) as u32;
        let root = SVGBackend::with_string(&mut svg, (900, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let lo = ops.iter().map(|o| o.from).fold(f64::INFINITY, f64::min);
        let hi = ops.iter().filter(|o| !o.open).map(|o| o.to).chain(ops.iter().map(|o| o.from)).fold(lo, f64::max);
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        let pad = ((hi - lo) * 0.08).max(1e-9);
        let (x0, x1) = (lo - pad, hi + pad);
        let n = lanes.len().max(1) as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(90)
            .build_cartesian_2d(x0..x1, 0f64..n)
            .map_err(|e| e.to_string())?;
        let names: Vec<String> = lanes.to_vec();
        chart
            .configure_mesh()
            .x_label_formatter(&|v: &f64| tick(*v))
            .disable_y_mesh()
            .y_labels(lanes.len() * 2 + 1)
            .y_label_formatter(&|y: &f64| {
                let i = y.floor() as usize;
                if (y - y.floor() - 0.5).abs() < 1e-9 {
                    names.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_desc(x_label)
            .draw()
            .map_err(|e| e.to_string())?;
        for o in ops {
            let colour = match o.mark {
                LaneMark::Linearized => PALETTE[0],
                LaneMark::Stuck => PALETTE[3],
                LaneMark::Other => PALETTE[7],
            };
            let (y0, y1) = (o.lane as f64 + 0.2, o.lane as f64 + 0.8);
            let to = if o.open { x1 } else { o.to.max(o.from + pad * 0.05) };
            let style = if o.open { colour.mix(0.35).filled() } else { colour.mix(0.8).filled() };
            chart
                .draw_series(std::iter::once(Rectangle::new([(o.from, y0), (to, y1)], style)))
                .map_err(|e| e.to_string())?;
            if o.mark == LaneMark::Stuck {
                chart
                    .draw_series(std::iter::once(Rectangle::new([(o.from, y0), (to, y1)], BLACK.stroke_width(2))))
                    .map_err(|e| e.to_string())?;
            }
            chart
                .draw_series(std::iter::once(Text::new(
                    o.label.clone(),
                    (o.from, o.lane as f64 + 0.5),
                    ("sans-serif", 13).into_font().color(&BLACK),
                )))
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}
