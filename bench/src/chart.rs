//! A PNG bar chart of the lamina/Linux ratios, one bar per row and accelerator,
//! on a log scale around 1 (below 1: lamina is smaller or faster; rates such
//! as MB/s are plotted as Linux/lamina, marked "inv.").

use std::path::Path;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::report::{number, Section};
use crate::Error;

const WIDTH_PX: u32 = 1200;
/// Wider than WIDTH_PX when there are many rows: at least this per row.
const COLUMN_PX: u32 = 125;
const HEIGHT_PX: u32 = 700;
const FONT_FAMILY: &str = "sans-serif";
/// One colour per section (accelerator), in order.
const SECTION_COLOURS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
];

fn plot_error(err: impl std::fmt::Display) -> Error {
    Error(format!("chart: {err}"))
}

/// Draws the chart into `out`; `font` is a TrueType file for the labels.
pub fn draw(sections: &[Section], font: &Path, out: &Path) -> Result<(), Error> {
    let font_bytes: &'static [u8] = Box::leak(std::fs::read(font)?.into_boxed_slice());
    register_font(FONT_FAMILY, FontStyle::Normal, font_bytes)
        .map_err(|_| Error(format!("{} is not a usable font", font.display())))?;

    let labels: Vec<String> = sections
        .first()
        .map(|s| {
            s.rows
                .iter()
                .map(|r| match r.higher_is_better {
                    false => format!("{} ({})", r.short, r.unit),
                    true => format!("{} (inv.)", r.short),
                })
                .collect()
        })
        .unwrap_or_default();
    let ratios: Vec<f64> = sections
        .iter()
        .flat_map(|s| s.rows.iter().filter_map(|r| r.cost_ratio()))
        .filter(|r| *r > 0.0)
        .collect();
    let lowest = ratios.iter().copied().fold(1.0_f64, f64::min);
    let highest = ratios.iter().copied().fold(1.0_f64, f64::max);
    let y_range = (lowest / 3.0)..(highest * 3.0);
    let columns = labels.len().max(1);

    let width = WIDTH_PX.max(COLUMN_PX * columns as u32);
    let root = BitMapBackend::new(out, (width, HEIGHT_PX)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "lamina / Linux utility VM (log scale; below 1 = lamina smaller or faster; rates inverted)",
            (FONT_FAMILY, 22),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5..(columns as f64 - 0.5), y_range.log_scale())
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(columns)
        .x_label_formatter(&|x| {
            let index = x.round();
            if (x - index).abs() < 0.01 && index >= 0.0 {
                labels.get(index as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc("lamina / Linux")
        .y_label_formatter(&|y| number(*y))
        .label_style((FONT_FAMILY, 15))
        .draw()
        .map_err(plot_error)?;

    let group_width = 0.8;
    let bar_width = group_width / sections.len().max(1) as f64;
    for (s, section) in sections.iter().enumerate() {
        let colour = SECTION_COLOURS[s % SECTION_COLOURS.len()];
        let mut bars = Vec::new();
        let mut values = Vec::new();
        for (i, row) in section.rows.iter().enumerate() {
            let Some(ratio) = row.cost_ratio().filter(|r| *r > 0.0) else {
                continue;
            };
            let left = i as f64 - group_width / 2.0 + s as f64 * bar_width;
            bars.push(Rectangle::new(
                [(left, 1.0), (left + bar_width * 0.92, ratio)],
                colour.filled(),
            ));
            let label_y = if ratio >= 1.0 {
                ratio * 1.15
            } else {
                ratio / 1.45
            };
            values.push(Text::new(
                number(ratio),
                (left + bar_width * 0.1, label_y),
                (FONT_FAMILY, 14),
            ));
        }
        chart
            .draw_series(bars)
            .map_err(plot_error)?
            .label(section.title.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
        chart.draw_series(values).map_err(plot_error)?;
    }
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(-0.5, 1.0), (columns as f64 - 0.5, 1.0)],
            BLACK.stroke_width(1),
        )))
        .map_err(plot_error)?;
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT_FAMILY, 16))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(plot_error)?;
    root.present().map_err(plot_error)?;
    Ok(())
}
