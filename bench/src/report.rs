//! Results as cells, and the markdown table that shows them.

use std::fmt::Write as _;

/// One side's figure for one row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// The row is not measured on this side.
    NotMeasured,
    /// The run did not finish within its bound (or was skipped after such a
    /// run); the note says how.
    DidNotFinish(String),
    /// The run ended by itself without the figure: a non-zero exit (e.g. a
    /// system call the kernel does not have yet), a crash; the note says how.
    Fails(String),
    /// The row cannot be measured on this side (e.g. a feature it does not
    /// have yet); shown as "n/a: why".
    NotAvailable(String),
    /// Samples of the figure: shown as the median, with min–max when several.
    Samples(Vec<f64>),
    /// A bisection that ran at its lowest allowed value: the true figure is
    /// at most this.
    AtMost(f64),
}

impl Cell {
    pub fn samples(samples: Vec<f64>) -> Self {
        if samples.is_empty() {
            Cell::DidNotFinish("no samples".into())
        } else {
            Cell::Samples(samples)
        }
    }

    /// The figure used for ratios: the median, or the bound.
    pub fn value(&self) -> Option<f64> {
        match self {
            Cell::Samples(samples) => Some(median(samples)),
            Cell::AtMost(bound) => Some(*bound),
            Cell::NotMeasured | Cell::DidNotFinish(_) | Cell::Fails(_) | Cell::NotAvailable(_) => {
                None
            }
        }
    }

    fn markdown(&self) -> String {
        match self {
            Cell::NotMeasured => "–".into(),
            Cell::DidNotFinish(_) => "did not finish".into(),
            Cell::Fails(_) => "fails".into(),
            Cell::NotAvailable(why) => format!("n/a: {why}"),
            Cell::AtMost(bound) => format!("≤ {}", number(*bound)),
            Cell::Samples(samples) if samples.len() == 1 => number(samples[0]),
            Cell::Samples(samples) => {
                let (min, max) = samples
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                        (lo.min(x), hi.max(x))
                    });
                format!(
                    "{} ({}–{})",
                    number(median(samples)),
                    number(min),
                    number(max)
                )
            }
        }
    }
}

/// One row of one accelerator's table.
#[derive(Debug, Clone, PartialEq)]
pub struct RowResult {
    pub label: String,
    pub short: String,
    pub unit: String,
    /// A rate: a ratio above 1 means lamina is faster.
    pub higher_is_better: bool,
    pub lamina: Cell,
    pub linux: Cell,
    /// gVisor's sandbox (`runsc do`), the peer a user would pick instead.
    pub gvisor: Cell,
    pub native: Cell,
}

impl RowResult {
    /// lamina / Linux guest, when both have a figure.
    pub fn ratio(&self) -> Option<f64> {
        lamina_over(&self.lamina, &self.linux)
    }

    /// lamina / gVisor, when both have a figure.
    pub fn gvisor_ratio(&self) -> Option<f64> {
        lamina_over(&self.lamina, &self.gvisor)
    }

    /// The ratio with "below 1 = lamina better" on every row: lamina/Linux,
    /// inverted for rates.
    pub fn cost_ratio(&self) -> Option<f64> {
        let ratio = self.ratio()?;
        match self.higher_is_better {
            false => Some(ratio),
            true => (ratio > 0.0).then(|| 1.0 / ratio),
        }
    }

    fn ratio_markdown(&self) -> String {
        ratio_markdown(self.ratio(), &self.lamina)
    }

    fn gvisor_ratio_markdown(&self) -> String {
        ratio_markdown(self.gvisor_ratio(), &self.lamina)
    }
}

fn lamina_over(lamina: &Cell, other: &Cell) -> Option<f64> {
    let (lamina, other) = (lamina.value()?, other.value()?);
    (other > 0.0).then(|| lamina / other)
}

fn ratio_markdown(ratio: Option<f64>, lamina: &Cell) -> String {
    match (ratio, lamina) {
        (None, _) => "–".into(),
        (Some(ratio), Cell::AtMost(_)) => format!("≤ {}", number(ratio)),
        (Some(ratio), _) => number(ratio),
    }
}

/// The table for one accelerator, with notes on what did not finish.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub title: String,
    pub rows: Vec<RowResult>,
    pub notes: Vec<String>,
}

pub fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// Three significant digits or so, without exponent notation.
pub fn number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 100.0 || value == value.trunc() && magnitude >= 1.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

/// The sections as markdown tables, each under a heading.
pub fn markdown(sections: &[Section]) -> String {
    let mut out = String::new();
    for section in sections {
        let _ = writeln!(out, "### {}\n", section.title);
        out.push_str(
            "| row | unit | lamina | Linux guest | gVisor | native | lamina/Linux | lamina/gVisor |\n",
        );
        out.push_str("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for row in &section.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                row.label,
                row.unit,
                row.lamina.markdown(),
                row.linux.markdown(),
                row.gvisor.markdown(),
                row.native.markdown(),
                row.ratio_markdown(),
                row.gvisor_ratio_markdown()
            );
        }
        if !section.notes.is_empty() {
            out.push('\n');
            for note in &section.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn row(label: &str, unit: &str, lamina: Cell, linux: Cell, native: Cell) -> RowResult {
        RowResult {
            label: label.into(),
            short: label.into(),
            unit: unit.into(),
            higher_is_better: unit.ends_with("/s"),
            lamina,
            linux,
            gvisor: Cell::NotMeasured,
            native,
        }
    }

    fn with_gvisor(row: RowResult, gvisor: Cell) -> RowResult {
        RowResult { gvisor, ..row }
    }

    #[test]
    fn table_from_recorded_results() {
        let linux = parse::results(
            "[    1.2] Run /init as init process\r\n@@ syscall_getppid 812.4 ns/call\r\n",
            Some(parse::LINUX_RESULT_MARKER),
        );
        let lamina = parse::results("syscall_getppid 314.0 ns/call\n", None);
        // gVisor's output is the program's own, as natively.
        let gvisor = parse::results("syscall_getppid 31400.0 ns/call\n", None);
        let sections = [Section {
            title: "microvm, TCG".into(),
            rows: vec![
                with_gvisor(
                    row(
                        "boot to exit",
                        "ms",
                        Cell::Samples(vec![82.0, 79.5, 95.3]),
                        Cell::Samples(vec![4700.0, 4800.0, 4650.0, 4900.0]),
                        Cell::NotMeasured,
                    ),
                    Cell::Samples(vec![164.0, 150.0, 200.0]),
                ),
                row(
                    "in-guest boot",
                    "ms",
                    Cell::Samples(vec![8.0]),
                    Cell::Samples(vec![1265.4]),
                    Cell::NotMeasured,
                ),
                with_gvisor(
                    row(
                        "syscall",
                        "ns/call",
                        Cell::samples(vec![lamina["syscall_getppid"].value]),
                        Cell::samples(vec![linux["syscall_getppid"].value]),
                        Cell::Samples(vec![104.7]),
                    ),
                    Cell::samples(vec![gvisor["syscall_getppid"].value]),
                ),
                with_gvisor(
                    row(
                        "fork",
                        "µs",
                        Cell::Samples(vec![120.0]),
                        Cell::Samples(vec![240.0]),
                        Cell::Samples(vec![60.0]),
                    ),
                    Cell::NotAvailable("runsc does not run here".into()),
                ),
                row(
                    "smallest -m",
                    "MiB",
                    Cell::AtMost(16.0),
                    Cell::Samples(vec![40.0]),
                    Cell::NotMeasured,
                ),
            ],
            notes: vec![
                "Linux guest: did not finish within 30 s".into(),
                "gVisor: runsc does not run here: runsc is not on PATH".into(),
            ],
        }];
        let expected = "\
### microvm, TCG

| row | unit | lamina | Linux guest | gVisor | native | lamina/Linux | lamina/gVisor |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |
| boot to exit | ms | 82 (79.5–95.3) | 4750 (4650–4900) | 164 (150–200) | – | 0.017 | 0.500 |
| in-guest boot | ms | 8 | 1265 | – | – | 0.006 | – |
| syscall | ns/call | 314 | 812 | 31400 | 105 | 0.387 | 0.010 |
| fork | µs | 120 | 240 | n/a: runsc does not run here | 60 | 0.500 | – |
| smallest -m | MiB | ≤ 16 | 40 | – | – | ≤ 0.400 | – |

- Linux guest: did not finish within 30 s
- gVisor: runsc does not run here: runsc is not on PATH

";
        assert_eq!(markdown(&sections), expected);
    }

    #[test]
    fn no_ratio_without_both_figures() {
        let r = row(
            "x",
            "ms",
            Cell::Samples(vec![1.0]),
            Cell::DidNotFinish("timed out".into()),
            Cell::NotMeasured,
        );
        assert_eq!(r.ratio(), None);
        assert_eq!(r.ratio_markdown(), "–");
        assert_eq!(r.linux.markdown(), "did not finish");
        assert_eq!(Cell::samples(vec![]).value(), None);
        let fork = row(
            "fork",
            "µs",
            Cell::Fails("exit status 1: fork: Function not implemented".into()),
            Cell::Samples(vec![250.0]),
            Cell::Samples(vec![60.0]),
        );
        assert_eq!(fork.ratio(), None);
        assert_eq!(fork.lamina.markdown(), "fails");
        let gvisor_fails = with_gvisor(
            row(
                "pipe",
                "MB/s",
                Cell::Samples(vec![900.0]),
                Cell::Samples(vec![1800.0]),
                Cell::NotMeasured,
            ),
            Cell::Fails("exit status 128: runsc: cannot start the sandbox".into()),
        );
        assert_eq!(gvisor_fails.ratio(), Some(0.5));
        assert_eq!(gvisor_fails.gvisor_ratio(), None);
        assert_eq!(gvisor_fails.gvisor_ratio_markdown(), "–");
        assert_eq!(gvisor_fails.gvisor.markdown(), "fails");
    }

    #[test]
    fn rates_invert_for_the_chart() {
        let read = row(
            "seq read",
            "MB/s",
            Cell::Samples(vec![400.0]),
            Cell::Samples(vec![800.0]),
            Cell::Samples(vec![3600.0]),
        );
        assert_eq!(read.ratio(), Some(0.5));
        assert_eq!(read.cost_ratio(), Some(2.0));
        // lamina/gVisor is shown as measured, a rate's too: above 1, lamina
        // reads faster.
        let read = with_gvisor(read, Cell::Samples(vec![200.0]));
        assert_eq!(read.gvisor_ratio(), Some(2.0));
        assert_eq!(read.gvisor_ratio_markdown(), "2");
        let walk = row(
            "walk",
            "ms",
            Cell::Samples(vec![100.0]),
            Cell::Samples(vec![50.0]),
            Cell::NotMeasured,
        );
        assert_eq!(walk.cost_ratio(), Some(2.0));
    }
}
