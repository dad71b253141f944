//! Latency by percentile, as HdrHistogram's plotter draws it: the x axis
//! is `1/(1-percentile)` on a log scale, so 90%, 99%, 99.9%, 99.99% are
//! evenly spaced and the tail gets as much room as the median; the y axis
//! is latency. One line per method of a run, or per run and method when
//! runs are compared. Drawn with plotters into SVG (its text stays text,
//! so no font is needed); a PNG is that SVG rasterised by resvg, its text
//! set in a sans-serif font of the system's.

use plotters::prelude::*;

use super::report::BenchReport;

/// The deepest percentile the axis shows: 99.9999%.
const DEEPEST_NINES: f64 = 6.0;

/// What a plot needed and did not find.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlotNotes {
    /// A PNG was drawn without its text: the system has no font.
    pub no_font: bool,
}

/// Draws `runs` to `path`: SVG for `.svg`, PNG for `.png`.
pub fn write(path: &std::path::Path, runs: &[BenchReport]) -> Result<PlotNotes, String> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 600)).into_drawing_area();
        draw(&root, runs)?;
        root.present().map_err(|e| e.to_string())?;
    }
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    match extension.as_deref() {
        Some("svg") => std::fs::write(path, svg).map_err(|e| fail(&e))?,
        Some("png") => {
            let (png, notes) = rasterise(&svg)?;
            std::fs::write(path, png).map_err(|e| fail(&e))?;
            return Ok(notes);
        }
        _ => return Err(fail(&"--plot writes .svg or .png")),
    }
    Ok(PlotNotes::default())
}

/// The SVG as PNG bytes, its text in the system's first sans-serif font.
fn rasterise(svg: &str) -> Result<(Vec<u8>, PlotNotes), String> {
    use resvg::{tiny_skia, usvg};
    let mut options = usvg::Options::default();
    options.fontdb_mut().load_system_fonts();
    let sans = options
        .fontdb
        .faces()
        .find(|face| face.families.iter().any(|(name, _)| name.contains("Sans")))
        .or_else(|| options.fontdb.faces().next())
        .and_then(|face| face.families.first().map(|(name, _)| name.clone()));
    let notes = PlotNotes {
        no_font: sans.is_none(),
    };
    if let Some(family) = sans {
        options.fontdb_mut().set_sans_serif_family(family);
    }
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| format!("the plot's SVG: {e}"))?;
    let size = tree.size().to_int_size();
    let mut pixmap =
        tiny_skia::Pixmap::new(size.width(), size.height()).ok_or("the plot has no area")?;
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    let png = pixmap.encode_png().map_err(|e| format!("PNG: {e}"))?;
    Ok((png, notes))
}

/// One line's points: (nines, microseconds), nines = log10(1/(1-q)).
fn points(curve: &[(f64, f64)]) -> Vec<(f64, f64)> {
    curve
        .iter()
        .filter(|(q, _)| *q < 1.0)
        .map(|(q, us)| ((1.0 / (1.0 - q)).log10().min(DEEPEST_NINES), *us))
        .collect()
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    runs: &[BenchReport],
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let error = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(error)?;
    let mut lines: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for run in runs {
        for method in &run.methods {
            let name = if runs.len() > 1 {
                format!("{} {}", run.label, method.name)
            } else {
                method.name.clone()
            };
            let mut line = points(&method.curve);
            // The maximum at the right edge, as the plotter's last point.
            if method.count > 0 {
                let right = line.last().map_or(0.0, |p| p.0).max(0.0);
                line.push((right.max(DEEPEST_NINES.min(right + 0.5)), method.max_us));
            }
            lines.push((name, line));
        }
    }
    let x_max = lines
        .iter()
        .flat_map(|(_, l)| l.iter().map(|p| p.0))
        .fold(1.0f64, f64::max)
        .ceil()
        .min(DEEPEST_NINES);
    let y_max = lines
        .iter()
        .flat_map(|(_, l)| l.iter().map(|p| p.1))
        .fold(1.0f64, f64::max)
        * 1.05;
    let title = match runs {
        [one] => format!(
            "orderwire bench: {} against {} ({})",
            one.workload, one.target, one.label
        ),
        _ => "orderwire bench: runs compared".to_owned(),
    };
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .margin_right(48)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        .map_err(error)?;
    chart
        .configure_mesh()
        // x_max is a whole number of nines, 1 to 6.
        .x_labels(if x_max >= 6.0 {
            7
        } else {
            1 + (0..6).filter(|n| f64::from(*n) < x_max).count()
        })
        .x_label_formatter(&|nines| percentile_label(*nines))
        .x_desc("percentile")
        .y_desc("latency (us)")
        .y_label_formatter(&|us| {
            if y_max >= 100.0 {
                format!("{us:.0}")
            } else {
                format!("{us:.1}")
            }
        })
        .draw()
        .map_err(error)?;
    for (index, (name, line)) in lines.into_iter().enumerate() {
        let color = Palette99::pick(index).to_rgba();
        chart
            .draw_series(LineSeries::new(line, color.stroke_width(2)))
            .map_err(error)?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(error)?;
    Ok(())
}

/// `0%`, `90%`, `99%`, `99.9%`... for 0, 1, 2, 3 nines.
fn percentile_label(nines: f64) -> String {
    let rounded = nines.round();
    if (nines - rounded).abs() > 1e-9 {
        return String::new();
    }
    // 0..=6 nines: small whole numbers.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    match rounded as u32 {
        0 => "0%".to_owned(),
        1 => "90%".to_owned(),
        n => format!("99.{}%", "9".repeat(n as usize - 2)).replace("99.%", "99%"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_reads_in_nines() {
        assert_eq!(percentile_label(0.0), "0%");
        assert_eq!(percentile_label(1.0), "90%");
        assert_eq!(percentile_label(2.0), "99%");
        assert_eq!(percentile_label(3.0), "99.9%");
        assert_eq!(percentile_label(5.0), "99.999%");
        assert_eq!(percentile_label(2.5), "");
        let line = points(&[(0.0, 1.0), (0.9, 2.0), (0.99, 3.0), (1.0, 9.0)]);
        assert_eq!(line.len(), 3);
        assert!((line[1].0 - 1.0).abs() < 1e-9 && (line[2].0 - 2.0).abs() < 1e-9);
    }
}
