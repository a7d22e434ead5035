//! Charts as self-contained SVG, drawn with plotters.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

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

/// The typeface of every chart.
const FONT: &str = "sans-serif";
/// Sizes in pixels of a 900-pixel-wide chart: shown at about 800 pixels on a laptop, they
/// stay readable without zooming.
/// (plotters draws text at about 0.8 of the size asked for: 18 comes out near 14.5 pixels).
const TITLE_SIZE: u32 = 24;
/// Tick labels and axis descriptions.
const LABEL_SIZE: u32 = 18;
/// Legend entries.
const LEGEND_SIZE: u32 = 17;

/// How a legend entry is marked: like its series.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Mark {
    /// A line, dashed like series `i` ([`dash`]).
    Line(usize),
    /// A dot of the `i`-th scatter series: a circle, a cross or a triangle ([`dot`]).
    Dot(usize),
    /// A filled box (bars, bands).
    Box,
}

/// The dash (length, gap in pixels) of the `i`-th line of a chart, `None` for solid. Colours
/// already differ; dashes keep lines apart where they overlap, and in print.
fn dash(i: usize) -> Option<(u32, u32)> {
    match i % 3 {
        0 => None,
        1 => Some((10, 5)),
        _ => Some((3, 4)),
    }
}

/// The drawing area of a chart: the whole picture with its title on top and its legend as rows
/// of entries under the title, so that the legend never covers data; returns the area left for
/// the plot.
fn frame<'a>(
    root: DrawingArea<SVGBackend<'a>, plotters::coord::Shift>,
    title: &str,
    legend: &[(String, RGBColor, Mark)],
) -> Result<DrawingArea<SVGBackend<'a>, plotters::coord::Shift>, String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let body = root.titled(title, (FONT, TITLE_SIZE)).map_err(|e| e.to_string())?;
    if legend.is_empty() {
        return Ok(body);
    }
    let width = body.dim_in_pixel().0 as i32;
    // Lay the entries out in rows, estimating text width from its length.
    let (left, row_h) = (70, 24);
    let mut spots = Vec::with_capacity(legend.len());
    let (mut x, mut row) = (left, 0);
    for (label, _, _) in legend {
        let w = 34 + (label.chars().count() as f64 * 0.56 * LEGEND_SIZE as f64) as i32 + 22;
        if x + w > width - 10 && x > left {
            (x, row) = (left, row + 1);
        }
        spots.push((x, row));
        x += w;
    }
    let (strip, plot) = body.split_vertically(row_h * (row + 1) + 6);
    for ((label, colour, mark), &(x, row)) in legend.iter().zip(&spots) {
        let y = row * row_h + row_h / 2;
        let c = *colour;
        match *mark {
            Mark::Line(i) => match dash(i) {
                None => strip.draw(&PathElement::new(vec![(x, y), (x + 26, y)], c.stroke_width(3))),
                Some((on, off)) => (0..26).step_by((on + off) as usize).try_for_each(|d| {
                    let end = (d + on as i32).min(26);
                    strip.draw(&PathElement::new(vec![(x + d, y), (x + end, y)], c.stroke_width(3)))
                }),
            }
            .map_err(|e| e.to_string())?,
            Mark::Dot(i) => dot(&strip, (x + 13, y), i, 5, c)?,
            Mark::Box => {
                strip.draw(&Rectangle::new([(x + 4, y - 7), (x + 22, y + 7)], c.filled())).map_err(|e| e.to_string())?
            }
        }
        let font = (FONT, LEGEND_SIZE).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
        strip.draw(&Text::new(label.clone(), (x + 34, y), font)).map_err(|e| e.to_string())?;
    }
    Ok(plot)
}

/// Draws the legend's dot of the `i`-th scatter series at pixel `(x, y)` of `area`: a filled
/// circle, a cross, or a triangle, as the series' points are drawn, so that series stay apart
/// where they overlap, not only by colour.
fn dot<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    (x, y): (i32, i32),
    i: usize,
    size: i32,
    colour: RGBColor,
) -> Result<(), String> {
    match i % 3 {
        0 => area.draw(&Circle::new((x, y), size, colour.filled())),
        1 => area.draw(&Cross::new((x, y), size + 1, colour.stroke_width(2))),
        _ => area.draw(&TriangleMarker::new((x, y), size + 1, colour.filled())),
    }
    .map_err(|e| e.to_string())
}

/// Draws `points` as the `i`-th line of a chart: its colour and its [`dash`].
macro_rules! draw_line {
    ($chart:expr, $draw:ident, $points:expr, $i:expr, $colour:expr) => {{
        let style = $colour.stroke_width(2);
        match dash($i) {
            None => $chart.$draw(LineSeries::new($points, style)).map(|_| ()),
            Some((on, off)) => $chart.$draw(DashedLineSeries::new($points, on, off, style)).map(|_| ()),
        }
        .map_err(|e| e.to_string())
    }};
}

/// A tick formatter for an axis whose values are all whole numbers (counts, terms): fractional
/// ticks stay unlabelled.
fn whole_tick(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 { tick(*v) } else { String::new() }
}

/// Whether every value of `series` is a whole number.
fn all_whole(series: &[Series]) -> bool {
    series.iter().flat_map(|(_, p)| p.iter()).all(|&(_, y)| y.fract() == 0.0)
}

/// Shades the fault windows (and the settle phase) over the whole height `y` of `chart`, each
/// labelled at its top, the labels stepping down so that overlapping windows stay readable.
fn draw_shades<'a, DB, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    shades: &[Shade],
    x_max: f64,
    (y_lo, y_hi): (f64, f64),
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    Y: Ranged<ValueType = f64>,
{
    // With many windows, only those wide enough for their label keep it: the Faults table
    // lists them all, and a heap of labels hides the data.
    let px_per_x = chart.plotting_area().dim_in_pixel().0 as f64 / x_max.max(1e-9);
    let crowded = shades.len() > 8;
    let mut row = 0;
    for shade in shades {
        let colour = shade_colour(shade.kind);
        let (from, to) = (shade.from.max(0.0), shade.to.min(x_max));
        chart
            .draw_series(std::iter::once(Rectangle::new([(from, y_lo), (to, y_hi)], colour.mix(0.12).filled())))
            .map_err(|e| e.to_string())?;
        if crowded && (to - from) * px_per_x < 7.0 * shade.label.chars().count() as f64 {
            continue;
        }
        // Labels step down the chart so that overlapping windows stay readable.
        let label = EmptyElement::at((from, y_hi))
            + Text::new(shade.label.clone(), (3, 3 + 15 * (row % 6)), (FONT, 13).into_font().color(&colour));
        chart.draw_series(std::iter::once(label)).map_err(|e| e.to_string())?;
        row += 1;
    }
    Ok(())
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

/// A value to about three significant digits, for labels on bars: `9.26`, `82.4`, `320`.
fn three_digits(v: f64) -> String {
    match v.abs() {
        a if a >= 100.0 => format!("{v:.0}"),
        a if a >= 10.0 => tick((v * 10.0).round() / 10.0),
        a if a >= 0.01 || a == 0.0 => tick((v * 100.0).round() / 100.0),
        _ => format!("{v:.1e}"),
    }
}

/// The label of a category axis at `v`: the `i`-th name at `i + 0.5`, the middle of its lane,
/// row or column, and nothing at the other ticks.
fn centred_label(names: &[String], v: f64) -> String {
    if (v - v.floor() - 0.5).abs() < 1e-9 {
        names.get(v.floor() as usize).cloned().unwrap_or_default()
    } else {
        String::new()
    }
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
    percent_lines(title, x_label, "cumulative percent", series, bands, log_x)
}

/// Lines of a percentage (y from 0 to 100, labelled `y_label`) against a value, e.g. the share
/// of consistent reads against the time since commit. Returns the SVG text.
pub fn percent_curves(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_x: bool,
) -> Result<String, String> {
    percent_lines(title, x_label, y_label, series, &[], log_x)
}

fn percent_lines(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    bands: &[Vec<(f64, f64, f64)>],
    log_x: bool,
) -> Result<String, String> {
    let mut svg = String::new();
    {
        let legend: Vec<(String, RGBColor, Mark)> = series
            .iter()
            .enumerate()
            .map(|(i, (l, _))| (l.clone(), PALETTE[i % PALETTE.len()], Mark::Line(i)))
            .collect();
        let area = frame(SVGBackend::with_string(&mut svg, (900, 540)).into_drawing_area(), title, &legend)?;
        let xs = series.iter().flat_map(|(_, p)| p.iter().map(|(x, _)| *x));
        let band_xs = bands.iter().flatten().flat_map(|&(_, lo, hi)| [lo, hi]);
        let (lo, hi) = xs.chain(band_xs).fold((f64::INFINITY, 0.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
        let (lo, hi) = if lo.is_finite() { readable_span(lo, hi) } else { (1.0, 10.0) };
        let mut builder = ChartBuilder::on(&area);
        builder.margin(14).x_label_area_size(52).y_label_area_size(64);
        macro_rules! draw {
            ($chart:expr) => {{
                let mut chart = $chart.map_err(|e| e.to_string())?;
                chart
                    .configure_mesh()
                    .x_label_formatter(&|v: &f64| tick(*v))
                    .y_label_formatter(&|v: &f64| tick(*v))
                    .label_style((FONT, LABEL_SIZE))
                    .axis_desc_style((FONT, LABEL_SIZE))
                    .x_desc(x_label)
                    .y_desc(y_label)
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
                for (i, (_, points)) in series.iter().enumerate() {
                    draw_line!(chart, draw_series, points.iter().copied(), i, PALETTE[i % PALETTE.len()])?;
                }
            }};
        }
        if log_x {
            let lo = lo.max(1e-3);
            draw!(builder.build_cartesian_2d((lo * 0.9..hi * 1.1).log_scale(), 0f64..100f64));
        } else {
            draw!(builder.build_cartesian_2d(0f64..hi * 1.05, 0f64..100f64));
        }
        area.present().map_err(|e| e.to_string())?;
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

impl<'a> TimeChart<'a> {
    /// The common chart: `series` as lines on a linear left axis, no right axis, no bands.
    pub fn lines(title: &'a str, y_label: &'a str, series: &'a [Series], shades: &'a [Shade], x_max: f64) -> Self {
        TimeChart { title, y_label, series, style: Style::Lines, log_y: false, right: None, shades, x_max, bands: &[] }
    }
}

/// The fill of a fault window of `kind`.
fn shade_colour(kind: &str) -> RGBColor {
    match kind {
        "partition" | "cut" => RGBColor(214, 39, 40),
        "crash" => RGBColor(120, 120, 120),
        "pause" => RGBColor(148, 103, 189),
        "settle" => RGBColor(44, 160, 44),
        _ => RGBColor(255, 127, 14),
    }
}

/// Draws a [`TimeChart`]; returns the SVG text.
pub fn time_chart(c: &TimeChart<'_>) -> Result<String, String> {
    let mut svg = String::new();
    {
        let rights = c.right.map_or(&[][..], |(_, r)| r);
        let mark = |i: usize| if c.style == Style::Dots { Mark::Dot(i) } else { Mark::Line(i) };
        let legend: Vec<(String, RGBColor, Mark)> = c
            .series
            .iter()
            .enumerate()
            .map(|(i, (l, _))| (l.clone(), PALETTE[i % PALETTE.len()], mark(i)))
            .chain(rights.iter().enumerate().map(|(j, (l, _))| {
                let i = c.series.len() + j;
                (l.clone(), PALETTE[i % PALETTE.len()], Mark::Line(i))
            }))
            .collect();
        let area = frame(SVGBackend::with_string(&mut svg, (900, 440)).into_drawing_area(), c.title, &legend)?;
        let ys = c.series.iter().flat_map(|(_, p)| p.iter().map(|(_, y)| *y));
        let (lo, hi) = ys.fold((f64::INFINITY, 0.0f64), |(lo, hi), y| (lo.min(y), hi.max(y)));
        let hi = if hi > 0.0 { hi * 1.08 } else { 1.0 };
        let x_max = c.x_max.max(1e-3);
        let whole = all_whole(c.series);
        let right_whole = all_whole(rights);
        let mut builder = ChartBuilder::on(&area);
        builder.margin(14).x_label_area_size(48).y_label_area_size(72).right_y_label_area_size(if c.right.is_some() {
            72
        } else {
            0
        });
        let right_hi = rights.iter().flat_map(|(_, p)| p.iter().map(|(_, y)| *y)).fold(0.0f64, f64::max);
        let right_hi = if right_hi > 0.0 { right_hi * 1.08 } else { 1.0 };
        macro_rules! draw {
            ($chart:expr, $y_lo:expr, $y_hi:expr) => {{
                // The right axis takes its label area before the mesh is drawn, so that the
                // left axis' labels stay on the left.
                let mut chart = $chart.map_err(|e| e.to_string())?.set_secondary_coord(0f64..x_max, 0f64..right_hi);
                let left_tick = if whole && !c.log_y { whole_tick } else { |v: &f64| tick(*v) };
                chart
                    .configure_mesh()
                    .x_label_formatter(&|v: &f64| tick(*v))
                    .y_label_formatter(&left_tick)
                    .label_style((FONT, LABEL_SIZE))
                    .axis_desc_style((FONT, LABEL_SIZE))
                    .x_desc("simulated time (s)")
                    .y_desc(c.y_label)
                    .light_line_style(WHITE.mix(0.0))
                    .draw()
                    .map_err(|e| e.to_string())?;
                if let Some((right_label, _)) = c.right {
                    let right_tick = if right_whole { whole_tick } else { |v: &f64| tick(*v) };
                    chart
                        .configure_secondary_axes()
                        .y_label_formatter(&right_tick)
                        .label_style((FONT, LABEL_SIZE))
                        .axis_desc_style((FONT, LABEL_SIZE))
                        .y_desc(right_label)
                        .draw()
                        .map_err(|e| e.to_string())?;
                }
                draw_shades(&mut chart, c.shades, x_max, ($y_lo, $y_hi))?;
                for (i, band) in c.bands.iter().enumerate().filter(|(_, b)| !b.is_empty()) {
                    let colour = PALETTE[i % PALETTE.len()];
                    let outline = band_outline(band.iter().map(|&(x, lo, hi)| ((x, lo), (x, hi))));
                    chart
                        .draw_series(std::iter::once(Polygon::new(outline, colour.mix(0.15).filled())))
                        .map_err(|e| e.to_string())?;
                }
                for (i, (_, points)) in c.series.iter().enumerate() {
                    let colour = PALETTE[i % PALETTE.len()];
                    match c.style {
                        Style::Lines => draw_line!(chart, draw_series, points.iter().copied(), i, colour)?,
                        // The shapes of [`dot`], in the chart's coordinates.
                        Style::Dots => {
                            let style: ShapeStyle = colour.mix(0.6).into();
                            let pts = points.iter().copied();
                            match i % 3 {
                                0 => chart.draw_series(pts.map(|p| Circle::new(p, 2, style.filled()))).map(|_| ()),
                                1 => {
                                    chart.draw_series(pts.map(|p| Cross::new(p, 3, style.stroke_width(1)))).map(|_| ())
                                }
                                _ => chart
                                    .draw_series(pts.map(|p| TriangleMarker::new(p, 3, style.filled())))
                                    .map(|_| ()),
                            }
                            .map_err(|e| e.to_string())?;
                        }
                    }
                }
                for (j, (_, points)) in rights.iter().enumerate() {
                    let i = c.series.len() + j;
                    draw_line!(chart, draw_secondary_series, points.iter().copied(), i, PALETTE[i % PALETTE.len()])?;
                }
            }};
        }
        if c.log_y {
            let lo = if lo.is_finite() { lo.max(1e-3) } else { 1e-3 };
            let (y_lo, y_hi) = (lo * 0.8, hi.max(lo * 10.0));
            draw!(builder.build_cartesian_2d(0f64..x_max, (y_lo..y_hi).log_scale()), y_lo, y_hi);
        } else {
            draw!(builder.build_cartesian_2d(0f64..x_max, 0f64..hi), 0.0, hi);
        }
        area.present().map_err(|e| e.to_string())?;
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
/// in each, coloured by variant, with the p10–p90 spread as an error bar and the median written
/// above it. `bars[v][g]` is variant `v`'s bar in group `g`. With one group, each bar is named
/// under it; with several, groups are named and a legend names the variants.
pub fn bars(
    title: &str,
    y_label: &str,
    groups: &[&str],
    variants: &[(String, Vec<Bar>)],
    log_y: bool,
) -> Result<String, String> {
    let mut svg = String::new();
    {
        let single = groups.len() <= 1;
        let legend: Vec<(String, RGBColor, Mark)> = if single {
            Vec::new()
        } else {
            variants.iter().enumerate().map(|(v, (l, _))| (l.clone(), PALETTE[v % PALETTE.len()], Mark::Box)).collect()
        };
        let area = frame(SVGBackend::with_string(&mut svg, (900, 420)).into_drawing_area(), title, &legend)?;
        let all = variants.iter().flat_map(|(_, b)| b.iter().flat_map(|b| [b.p90, b.median]));
        let hi = all.clone().fold(0.0f64, f64::max);
        let lo = all.filter(|&v| v > 0.0).fold(f64::INFINITY, f64::min);
        let hi = if hi > 0.0 { hi * 1.18 } else { 1.0 };
        let n = variants.len().max(1) as f64;
        let g = groups.len().max(1) as f64;
        let width = 0.8 / n;
        let x0 = |v: usize, gi: usize| gi as f64 + 0.1 + v as f64 * width;
        // Where each axis label goes: under each group, or (one group) under each bar.
        let categories: Vec<(f64, String)> = if single {
            variants.iter().enumerate().map(|(v, (l, _))| (x0(v, 0) + width * 0.45, l.clone())).collect()
        } else {
            groups.iter().enumerate().map(|(i, name)| (i as f64 + 0.5, name.to_string())).collect()
        };
        let mut builder = ChartBuilder::on(&area);
        builder.margin(14).x_label_area_size(40).y_label_area_size(78);
        macro_rules! draw {
            ($chart:expr, $base:expr) => {{
                let mut chart = $chart.map_err(|e| e.to_string())?;
                chart
                    .configure_mesh()
                    .y_label_formatter(&|v: &f64| tick(*v))
                    .disable_x_mesh()
                    .x_labels(0)
                    .label_style((FONT, LABEL_SIZE))
                    .axis_desc_style((FONT, LABEL_SIZE))
                    .y_desc(y_label)
                    .draw()
                    .map_err(|e| e.to_string())?;
                let below = (FONT, LABEL_SIZE).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
                for (x, name) in &categories {
                    let label = EmptyElement::at((*x, $base)) + Text::new(name.clone(), (0, 8), below.clone());
                    chart.draw_series(std::iter::once(label)).map_err(|e| e.to_string())?;
                }
                let above = (FONT, 13).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Bottom));
                for (v, (_, bars)) in variants.iter().enumerate() {
                    let colour = PALETTE[v % PALETTE.len()];
                    chart
                        .draw_series(bars.iter().enumerate().map(|(gi, b)| {
                            Rectangle::new(
                                [(x0(v, gi), $base), (x0(v, gi) + width * 0.9, b.median.max($base))],
                                colour.filled(),
                            )
                        }))
                        .map_err(|e| e.to_string())?;
                    for (gi, b) in bars.iter().enumerate() {
                        let mid = x0(v, gi) + width * 0.45;
                        let (p10, p90) = (b.p10.max($base), b.p90.max($base));
                        chart
                            .draw_series(std::iter::once(PathElement::new(
                                vec![(mid, p10), (mid, p90)],
                                BLACK.stroke_width(2),
                            )))
                            .map_err(|e| e.to_string())?;
                        let value = EmptyElement::at((mid, p90.max(b.median.max($base))))
                            + Text::new(three_digits(b.median), (0, -4), above.clone());
                        chart.draw_series(std::iter::once(value)).map_err(|e| e.to_string())?;
                    }
                }
            }};
        }
        if log_y && lo.is_finite() {
            let base = lo * 0.5;
            draw!(builder.build_cartesian_2d(0f64..g, (base..hi * 1.5).log_scale()), base);
        } else {
            draw!(builder.build_cartesian_2d(0f64..g, 0f64..hi), 0.0);
        }
        area.present().map_err(|e| e.to_string())?;
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
        let area = frame(root, title, &[])?;
        let lo = ops.iter().map(|o| o.from).fold(f64::INFINITY, f64::min);
        let hi = ops.iter().filter(|o| !o.open).map(|o| o.to).chain(ops.iter().map(|o| o.from)).fold(lo, f64::max);
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        let pad = ((hi - lo) * 0.08).max(1e-9);
        let (x0, x1) = (lo - pad, hi + pad);
        let n = lanes.len().max(1) as f64;
        let mut chart = ChartBuilder::on(&area)
            .margin(14)
            .x_label_area_size(48)
            .y_label_area_size(90)
            .build_cartesian_2d(x0..x1, 0f64..n)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_label_formatter(&|v: &f64| tick(*v))
            .disable_y_mesh()
            .y_labels(lanes.len() * 2 + 1)
            .y_label_formatter(&|y: &f64| centred_label(lanes, *y))
            .label_style((FONT, LABEL_SIZE))
            .axis_desc_style((FONT, LABEL_SIZE))
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
            // Labels of operations in the right half end at their bar, so none runs off the
            // chart.
            let font = ("sans-serif", 14).into_font().color(&BLACK);
            let (at, font) = if o.from > (x0 + x1) / 2.0 {
                (to, font.pos(Pos::new(HPos::Right, VPos::Center)))
            } else {
                (o.from, font.pos(Pos::new(HPos::Left, VPos::Center)))
            };
            chart
                .draw_series(std::iter::once(Text::new(o.label.clone(), (at, o.lane as f64 + 0.5), font)))
                .map_err(|e| e.to_string())?;
        }
        area.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// One bar on a [`time_lanes`] chart: a lane held a state from `from` to `to` (seconds).
#[derive(Clone, Debug, PartialEq)]
pub struct LaneSpan {
    /// Its lane, by index (top first).
    pub lane: usize,
    /// Start (s).
    pub from: f64,
    /// End (s).
    pub to: f64,
    /// Its label, drawn on the bar when the bar is wide enough.
    pub label: String,
    /// Its colour, by palette index.
    pub colour: usize,
}

/// Lanes over simulated time, a bar where a lane held a state (a node leading a term, say),
/// fault windows shaded behind: who was what, when, without a continuous axis pretending
/// nodes are numbers.
pub fn time_lanes(
    title: &str,
    lanes: &[String],
    spans: &[LaneSpan],
    shades: &[Shade],
    x_max: f64,
) -> Result<String, String> {
    let mut svg = String::new();
    {
        let height = (150 + 46 * lanes.len()).min(1400) as u32;
        let root = SVGBackend::with_string(&mut svg, (900, height)).into_drawing_area();
        let x_max = x_max.max(1e-3);
        let n = lanes.len().max(1) as f64;
        let area = frame(root, title, &[])?;
        let mut chart = ChartBuilder::on(&area)
            .margin(14)
            .x_label_area_size(48)
            .y_label_area_size(100)
            // Lane 0 at the top.
            .build_cartesian_2d(0f64..x_max, n..0f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_label_formatter(&|v: &f64| tick(*v))
            .disable_y_mesh()
            .y_labels(lanes.len() * 2 + 1)
            .y_label_formatter(&|y: &f64| centred_label(lanes, *y))
            .label_style((FONT, LABEL_SIZE))
            .axis_desc_style((FONT, LABEL_SIZE))
            .x_desc("simulated time (s)")
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(|e| e.to_string())?;
        draw_shades(&mut chart, shades, x_max, (n, 0.0))?;
        // Pixels per second, to judge which bars have room for their label.
        let px_per_s = 760.0 / x_max;
        for s in spans {
            let colour = PALETTE[s.colour % PALETTE.len()];
            let (y0, y1) = (s.lane as f64 + 0.2, s.lane as f64 + 0.8);
            let to = s.to.max(s.from + x_max * 0.002);
            chart
                .draw_series(std::iter::once(Rectangle::new([(s.from, y0), (to, y1)], colour.mix(0.85).filled())))
                .map_err(|e| e.to_string())?;
            if (to - s.from) * px_per_s > 7.5 * s.label.chars().count() as f64 + 8.0 {
                let font = (FONT, 13).into_font().color(&WHITE).pos(Pos::new(HPos::Left, VPos::Center));
                let label = EmptyElement::at((s.from, s.lane as f64 + 0.5)) + Text::new(s.label.clone(), (4, 0), font);
                chart.draw_series(std::iter::once(label)).map_err(|e| e.to_string())?;
            }
        }
        area.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// A count in at most about four characters: `950`, `12.3k`, `4.1M`.
fn short_count(v: u64) -> String {
    match v {
        v if v < 1000 => v.to_string(),
        v if v < 999_950 => format!("{:.1}k", v as f64 / 1e3),
        v => format!("{:.1}M", v as f64 / 1e6),
    }
}

/// A heat map of `matrix[from][to]` (messages from each node to each other): a row per sender,
/// a column per receiver, darker for more, each cell written out when the map is small enough
/// to read them.
pub fn heat_map(title: &str, names: &[String], matrix: &[Vec<u64>]) -> Result<String, String> {
    let n = names.len().max(1);
    let mut svg = String::new();
    {
        let cell = (700 / n).clamp(8, 80) as u32;
        let side = cell * n as u32;
        let root = SVGBackend::with_string(&mut svg, (side + 200, side + 170)).into_drawing_area();
        let area = frame(root, title, &[])?;
        let mut chart = ChartBuilder::on(&area)
            .margin(14)
            .x_label_area_size(56)
            .y_label_area_size(90)
            .build_cartesian_2d(0f64..n as f64, n as f64..0f64)
            .map_err(|e| e.to_string())?;
        // Every label on small maps; every few on large ones, so they stay apart.
        let every = n.div_ceil(30);
        let label = |v: &f64| {
            if (v.floor() as usize).is_multiple_of(every) { centred_label(names, *v) } else { String::new() }
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(n * 2 + 1)
            .y_labels(n * 2 + 1)
            .x_label_formatter(&label)
            .y_label_formatter(&label)
            .label_style((FONT, LABEL_SIZE))
            .axis_desc_style((FONT, LABEL_SIZE))
            .x_desc("to")
            .y_desc("from")
            .draw()
            .map_err(|e| e.to_string())?;
        let max = matrix.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
        let write_counts = n <= 16;
        for (i, row) in matrix.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                let share = v as f64 / max;
                // From white to the palette's blue; an empty cell stays white with a grey edge.
                let mix = |c: u8| (255.0 - (255.0 - f64::from(c)) * share).round() as u8;
                let blue = PALETTE[0];
                let colour = RGBColor(mix(blue.0), mix(blue.1), mix(blue.2));
                let (x, y) = (j as f64, i as f64);
                chart
                    .draw_series([
                        Rectangle::new([(x, y), (x + 1.0, y + 1.0)], colour.filled()),
                        Rectangle::new([(x, y), (x + 1.0, y + 1.0)], RGBColor(220, 220, 220).stroke_width(1)),
                    ])
                    .map_err(|e| e.to_string())?;
                if write_counts {
                    let ink = if share > 0.55 { WHITE } else { BLACK };
                    let font = (FONT, 14).into_font().color(&ink).pos(Pos::new(HPos::Center, VPos::Center));
                    chart
                        .draw_series(std::iter::once(Text::new(short_count(v), (x + 0.5, y + 0.5), font)))
                        .map_err(|e| e.to_string())?;
                }
            }
        }
        area.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}
