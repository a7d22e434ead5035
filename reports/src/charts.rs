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

/// One line of a chart: its label and its (x, y) points.
pub type Series = (String, Vec<(f64, f64)>);

/// A cumulative distribution chart: x is a value (in `x_label`'s unit), y the percentage of
/// samples at or below it; `log_x` puts x on a log scale. Returns the SVG text.
pub fn cdf(title: &str, x_label: &str, series: &[Series], log_x: bool) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 520)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let xs = series.iter().flat_map(|(_, p)| p.iter().map(|(x, _)| *x));
        let (lo, hi) = xs.fold((f64::INFINITY, 0.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
        let (lo, hi) = if lo.is_finite() { (lo, hi.max(lo * 1.01 + 1e-9)) } else { (1.0, 10.0) };
        let mut builder = ChartBuilder::on(&root);
        builder.caption(title, ("sans-serif", 22)).margin(16).x_label_area_size(48).y_label_area_size(56);
        macro_rules! draw {
            ($chart:expr) => {{
                let mut chart = $chart.map_err(|e| e.to_string())?;
                chart
                    .configure_mesh()
                    .x_desc(x_label)
                    .y_desc("cumulative percent")
                    .draw()
                    .map_err(|e| e.to_string())?;
                for (i, (label, points)) in series.iter().enumerate() {
                    let colour = PALETTE[i % PALETTE.len()];
                    chart
                        .draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))
                        .map_err(|e| e.to_string())?
                        .label(label.as_str())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
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
