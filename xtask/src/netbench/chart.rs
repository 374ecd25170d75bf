//! `benchmarks.svg`: for every load point, each server's median
//! requests/s and server CPU time per request relative to a baseline
//! server (tokio), one panel each, with the min–max of the rounds as a
//! whisker.
//!
//! The chart is drawn from a [`Chart`], which the benchmark builds from
//! its samples and [`Chart::from_markdown`] reads back from the tables of a
//! `BENCHMARKS.md` (`cargo xtask bench --redraw`), so the figure can be
//! redrawn without running the benchmark again.

use std::fmt::Write as _;

/// Bar fill colours, one per server in order.
const COLORS: &[&str] = &[
    "#888888", "#d9480f", "#f08c00", "#1971c2", "#74c0fc", "#2f9e44", "#9c36b5", "#c2255c",
];
/// The server the others are compared to, when it is in the chart (the
/// first server otherwise).
const BASELINE: &str = "tokio";
/// Left margin (the axis labels) and right margin.
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
/// Width of one bar, and the space between two groups of bars.
const BAR_W: f64 = 14.0;
const GROUP_GAP: f64 = 24.0;
/// The narrowest group, so that a label wraps to two lines at most.
const MIN_GROUP_W: f64 = 84.0;
/// Height of a panel's plot area.
const PLOT_H: f64 = 220.0;
/// Font size of the panel titles.
const TITLE_FONT: f64 = 14.0;
/// What the legend says under the servers' colours.
const NOTES: [&str; 2] = [
    "Whiskers span the fastest and the slowest round; an arrow marks one clipped at the top of the axis.",
    "CPU time per request is the steadier figure on a shared host; the exact figures are in BENCHMARKS.md.",
];
/// Font size of the labels, their line height, and the width of a
/// character as estimated for wrapping (an upper bound for sans-serif
/// digits and lower-case letters at this size).
const FONT: f64 = 11.0;
const LINE_H: f64 = 13.0;
const CHAR_W: f64 = 6.2;
/// How far above the largest median a whisker may reach before it is
/// clipped (drawn to the top with an arrow).
const WHISKER_ROOM: f64 = 1.6;

/// A median with the smallest and the largest value it was taken from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Spread {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

/// One server's figures at one load point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Figures {
    pub(crate) rps: Spread,
    pub(crate) cpu_ns: Spread,
}

/// One load point: its label and each server's figures, in the order of
/// [`Chart::servers`] (`None` where a server was not measured).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Group {
    pub(crate) label: String,
    pub(crate) figures: Vec<Option<Figures>>,
}

/// What the chart shows.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Chart {
    pub(crate) servers: Vec<String>,
    pub(crate) groups: Vec<Group>,
}

/// One panel: which figure it shows and how it is titled.
struct Panel {
    what: &'static str,
    better: &'static str,
    pick: fn(&Figures) -> Spread,
}

const PANELS: [Panel; 2] = [
    Panel {
        what: "Requests/s",
        better: "higher is better",
        pick: |f| f.rps,
    },
    Panel {
        what: "Server CPU time per request",
        better: "lower is better",
        pick: |f| f.cpu_ns,
    },
];

impl Chart {
    /// Reads the chart back from the tables of a `BENCHMARKS.md`: a
    /// `## label` heading per point, then rows of `| server | req/s
    /// (min–max) | ×tokio | CPU ns/req (min–max) | …`.
    ///
    /// # Errors
    ///
    /// If a row's figures do not parse, or there is no table at all.
    pub(crate) fn from_markdown(text: &str) -> Result<Chart, String> {
        let mut chart = Chart {
            servers: Vec::new(),
            groups: Vec::new(),
        };
        for (n, line) in text.lines().enumerate() {
            if let Some(label) = line.strip_prefix("## ") {
                chart.groups.push(Group {
                    label: label.trim().to_string(),
                    figures: Vec::new(),
                });
                continue;
            }
            let Some(group) = chart.groups.last_mut() else {
                continue;
            };
            let line = line.trim();
            if !line.starts_with('|') {
                continue;
            }
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            if cells.len() < 4 || cells[0] == "server" || cells[0].starts_with("---") {
                continue;
            }
            let figures = match (spread(cells[1]), spread(cells[3])) {
                (Some(rps), Some(cpu_ns)) => Figures { rps, cpu_ns },
                _ => return Err(format!("line {}: cannot read the figures of {line}", n + 1)),
            };
            let si = match chart.servers.iter().position(|s| s == cells[0]) {
                Some(si) => si,
                None => {
                    chart.servers.push(cells[0].to_string());
                    chart.servers.len() - 1
                }
            };
            if group.figures.len() <= si {
                group.figures.resize(si + 1, None);
            }
            group.figures[si] = Some(figures);
        }
        chart
            .groups
            .retain(|g| g.figures.iter().any(Option::is_some));
        if chart.groups.is_empty() {
            return Err("no benchmark tables found".into());
        }
        for group in &mut chart.groups {
            group.figures.resize(chart.servers.len(), None);
        }
        Ok(chart)
    }

    /// The SVG: a panel of requests/s and a panel of CPU per request, both
    /// relative to the baseline's median, then the legend.
    pub(crate) fn render(&self) -> String {
        let base = self.servers.iter().position(|s| s == BASELINE).unwrap_or(0);
        let base_name = self.servers.get(base).map_or("", String::as_str);
        let titles = PANELS.map(|p| {
            format!(
                "{} relative to {} (medians, whiskers min–max; {})",
                p.what,
                esc(base_name),
                p.better
            )
        });
        let group_w = group_w(self.servers.len());
        // Every label on two lines if one needs them, for an even look.
        let wrapped = self
            .groups
            .iter()
            .any(|g| wrap(&g.label, group_w - 6.0, false).len() > 1);
        let labels: Vec<Vec<String>> = self
            .groups
            .iter()
            .map(|g| wrap(&g.label, group_w - 6.0, wrapped))
            .collect();
        let label_lines = labels.iter().map(Vec::len).max().unwrap_or(1);
        let legend_rows = self.servers.len().div_ceil(LEGEND_PER_ROW) + NOTES.len();
        let widest_text = titles
            .iter()
            .map(|t| text_w(t) * TITLE_FONT / FONT)
            .chain(NOTES.map(text_w))
            .fold(0.0, f64::max);
        let width =
            (LEFT + group_w * self.groups.len() as f64 + RIGHT).max(LEFT + widest_text + RIGHT);
        let panel_h = 34.0 + PLOT_H + 8.0 + LINE_H * label_lines as f64 + 22.0;
        let height = panel_h * PANELS.len() as f64 + 18.0 * legend_rows as f64 + 16.0;
        let layout = Layout {
            group_w,
            width,
            base,
            labels,
        };

        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" font-family="sans-serif" font-size="{FONT}">"#
        );
        let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
        for (pi, (panel, title)) in PANELS.iter().zip(&titles).enumerate() {
            self.panel(&mut s, panel, title, panel_h * pi as f64, &layout);
        }
        self.legend(&mut s, panel_h * PANELS.len() as f64 + 4.0);
        let _ = writeln!(s, "</svg>");
        s
    }

    /// One panel, `title` at `top`.
    fn panel(&self, s: &mut String, panel: &Panel, title: &str, top: f64, layout: &Layout) {
        let Layout {
            group_w,
            width,
            base,
            ref labels,
        } = *layout;
        // Each bar's ratio to the baseline's median (its whisker too).
        let ratios: Vec<Vec<Option<Spread>>> = self
            .groups
            .iter()
            .map(|g| {
                let b = g
                    .figures
                    .get(base)
                    .copied()
                    .flatten()
                    .map(|f| (panel.pick)(&f));
                g.figures
                    .iter()
                    .map(|f| {
                        let v = (panel.pick)(&(*f)?);
                        let b = b?.median;
                        let r = Spread {
                            median: v.median / b,
                            min: v.min / b,
                            max: v.max / b,
                        };
                        (r.median.is_finite() && b > 0.0).then_some(r)
                    })
                    .collect()
            })
            .collect();
        let finite = |v: f64| if v.is_finite() { v } else { 0.0 };
        let hi_median = ratios
            .iter()
            .flatten()
            .flatten()
            .map(|r| finite(r.median))
            .fold(1.0, f64::max);
        let hi_whisker = ratios
            .iter()
            .flatten()
            .flatten()
            .map(|r| finite(r.max))
            .fold(1.0, f64::max);
        let (axis, step) = axis(hi_median, hi_whisker);
        let plot_top = top + 34.0;
        let bottom = plot_top + PLOT_H;
        let y = |r: f64| bottom - PLOT_H * (r.clamp(0.0, axis) / axis);

        let _ = writeln!(
            s,
            r#"<text x="{LEFT}" y="{:.0}" font-size="{TITLE_FONT}">{title}</text>"#,
            top + 20.0,
        );
        let ticks = (axis / step).round() as usize;
        for i in 0..=ticks {
            let tick = step * i as f64;
            let ty = y(tick);
            let stroke = if (tick - 1.0).abs() < 1e-9 {
                "#000"
            } else {
                "#ddd"
            };
            let _ = writeln!(
                s,
                r#"<line x1="{LEFT}" x2="{:.0}" y1="{ty:.1}" y2="{ty:.1}" stroke="{stroke}"/><text x="{:.0}" y="{:.1}" text-anchor="end">{tick:.1}</text>"#,
                width - RIGHT,
                LEFT - 4.0,
                ty + 4.0
            );
        }
        for (gi, group) in self.groups.iter().enumerate() {
            let gx = LEFT + group_w * gi as f64 + GROUP_GAP / 2.0;
            for (si, ratio) in ratios[gi].iter().enumerate() {
                let Some(r) = ratio else {
                    continue;
                };
                let Some(f) = group.figures[si] else {
                    continue;
                };
                let raw = (panel.pick)(&f);
                let x = gx + BAR_W * si as f64;
                let _ = writeln!(
                    s,
                    r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{} {}: {:.2} ({:.0}, min–max {:.0}–{:.0})</title></rect>"#,
                    y(r.median),
                    BAR_W - 1.0,
                    bottom - y(r.median),
                    COLORS[si % COLORS.len()],
                    esc(&self.servers[si]),
                    esc(&group.label),
                    r.median,
                    raw.median,
                    raw.min,
                    raw.max
                );
                whisker(s, x + (BAR_W - 1.0) / 2.0, y(r.min), y(r.max), r.max > axis);
            }
            for (li, line) in labels[gi].iter().enumerate() {
                let _ = writeln!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                    gx + BAR_W * self.servers.len() as f64 / 2.0,
                    bottom + 8.0 + LINE_H * (li + 1) as f64,
                    esc(line)
                );
            }
        }
    }

    /// The colour of each server, and what a whisker means.
    fn legend(&self, s: &mut String, top: f64) {
        for (si, server) in self.servers.iter().enumerate() {
            let lx = LEFT + LEGEND_W * (si % LEGEND_PER_ROW) as f64;
            let ly = top + 18.0 * (si / LEGEND_PER_ROW) as f64 + 10.0;
            let _ = writeln!(
                s,
                r#"<rect x="{lx:.0}" y="{:.0}" width="10" height="10" fill="{}"/><text x="{:.0}" y="{ly:.0}">{}</text>"#,
                ly - 9.0,
                COLORS[si % COLORS.len()],
                lx + 14.0,
                esc(server)
            );
        }
        let rows = self.servers.len().div_ceil(LEGEND_PER_ROW);
        for (ni, note) in NOTES.iter().enumerate() {
            let _ = writeln!(
                s,
                r##"<text x="{LEFT}" y="{:.0}" fill="#555">{}</text>"##,
                top + 18.0 * (rows + ni) as f64 + 10.0,
                esc(note)
            );
        }
    }
}

/// Where a panel's groups go.
struct Layout {
    group_w: f64,
    width: f64,
    /// The baseline server's index.
    base: usize,
    /// Each group's label, in lines.
    labels: Vec<Vec<String>>,
}

/// Legend entries per row, and the width of one.
const LEGEND_PER_ROW: usize = 6;
const LEGEND_W: f64 = 120.0;

/// A min–max whisker at `x` from `y_min` down to `y_max` (screen
/// coordinates, so `y_max <= y_min`), with an arrow instead of the top
/// cap when it is clipped.
fn whisker(s: &mut String, x: f64, y_min: f64, y_max: f64, clipped: bool) {
    let _ = write!(
        s,
        r##"<g class="whisker" stroke="#222" fill="#222"><line x1="{x:.1}" x2="{x:.1}" y1="{y_min:.1}" y2="{y_max:.1}"/><line x1="{:.1}" x2="{:.1}" y1="{y_min:.1}" y2="{y_min:.1}"/>"##,
        x - 3.0,
        x + 3.0
    );
    if clipped {
        let _ = write!(
            s,
            r#"<polygon points="{:.1},{:.1} {x:.1},{y_max:.1} {:.1},{:.1}"/>"#,
            x - 3.0,
            y_max + 5.0,
            x + 3.0,
            y_max + 5.0
        );
    } else {
        let _ = write!(
            s,
            r#"<line x1="{:.1}" x2="{:.1}" y1="{y_max:.1}" y2="{y_max:.1}"/>"#,
            x - 3.0,
            x + 3.0
        );
    }
    let _ = writeln!(s, "</g>");
}

/// The top of the axis and its tick step: room for every median and for
/// whiskers up to [`WHISKER_ROOM`] times the largest median, on a round
/// step.
fn axis(hi_median: f64, hi_whisker: f64) -> (f64, f64) {
    let hi_median = hi_median.max(1.2);
    let top = hi_whisker.min(hi_median * WHISKER_ROOM).max(hi_median) * 1.05;
    let step = if top <= 2.0 {
        0.2
    } else if top <= 5.0 {
        0.5
    } else {
        1.0
    };
    ((top / step).ceil() * step, step)
}

/// The width of a group of `servers` bars.
fn group_w(servers: usize) -> f64 {
    (BAR_W * servers as f64 + GROUP_GAP).max(MIN_GROUP_W)
}

/// The estimated width of `text` in pixels.
fn text_w(text: &str) -> f64 {
    text.chars().count() as f64 * CHAR_W
}

/// `label` in lines no wider than `max_w`: one line if it fits (and
/// `two` is false); else two, split at the space that balances them best;
/// else as many as a greedy wrap needs. A figure stays with its unit
/// (`128 B`) and a `×` with what follows.
pub(crate) fn wrap(label: &str, max_w: f64, two: bool) -> Vec<String> {
    if !two && text_w(label) <= max_w {
        return vec![label.to_string()];
    }
    let mut atoms: Vec<String> = Vec::new();
    for word in label.split(' ') {
        match atoms.last_mut() {
            Some(last) if last.ends_with('×') || matches!(word, "B" | "KiB" | "MiB") => {
                last.push(' ');
                last.push_str(word);
            }
            _ => atoms.push(word.to_string()),
        }
    }
    let best = (1..atoms.len())
        .map(|i| {
            let w = text_w(&atoms[..i].join(" ")).max(text_w(&atoms[i..].join(" ")));
            (w, i)
        })
        .min_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((w, i)) = best
        && w <= max_w
    {
        return vec![atoms[..i].join(" "), atoms[i..].join(" ")];
    }
    let mut lines: Vec<String> = Vec::new();
    for atom in atoms {
        match lines.last_mut() {
            Some(line) if text_w(line) + CHAR_W + text_w(&atom) <= max_w => {
                line.push(' ');
                line.push_str(&atom);
            }
            _ => lines.push(atom),
        }
    }
    lines
}

/// `median (min–max)` from a table cell.
fn spread(cell: &str) -> Option<Spread> {
    let (median, range) = cell.split_once('(')?;
    let (min, max) = range.trim_end_matches(')').split_once('–')?;
    Some(Spread {
        median: median.trim().parse().ok()?,
        min: min.trim().parse().ok()?,
        max: max.trim().parse().ok()?,
    })
}

/// `text` with XML's special characters escaped.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(rps: f64, cpu_ns: f64) -> Option<Figures> {
        Some(Figures {
            rps: Spread {
                median: rps,
                min: rps * 0.8,
                max: rps * 1.1,
            },
            cpu_ns: Spread {
                median: cpu_ns,
                min: cpu_ns * 0.9,
                // Far above the others: its whisker is clipped.
                max: cpu_ns * 9.0,
            },
        })
    }

    /// Made-up results: three servers at the labels the bench uses, the
    /// last server missing at one point.
    fn sample() -> Chart {
        let labels = [
            "echo c=1 × 128 B",
            "echo c=128 × 4 KiB",
            "http c=100 depth=1",
            "http c=100 depth=16",
        ];
        Chart {
            servers: vec!["tokio".into(), "rentio-uring".into(), "compio".into()],
            groups: labels
                .iter()
                .enumerate()
                .map(|(i, label)| Group {
                    label: (*label).into(),
                    figures: vec![
                        figures(100_000.0, 6000.0),
                        figures(110_000.0 + i as f64, 5500.0),
                        if i == 2 {
                            None
                        } else {
                            figures(90_000.0, 7000.0)
                        },
                    ],
                })
                .collect(),
        }
    }

    #[test]
    fn the_chart_has_whiskers_and_a_cpu_panel() {
        let chart = sample();
        let svg = chart.render();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        let bars = chart
            .groups
            .iter()
            .flat_map(|g| &g.figures)
            .filter(|f| f.is_some())
            .count();
        // One whisker per bar in each of the two panels.
        assert_eq!(svg.matches(r#"class="whisker""#).count(), 2 * bars);
        assert!(svg.contains("Requests/s relative to tokio"));
        assert!(svg.contains("Server CPU time per request relative to tokio"));
        assert_eq!(svg.matches("<title>rentio-uring").count(), 2 * 4);
        // The CPU maxima (9× the median) are clipped with an arrow; no
        // requests/s whisker is.
        assert_eq!(svg.matches("<polygon").count(), bars);
        // The titles and notes fit the picture.
        let width: f64 = svg
            .split_once(r#"width=""#)
            .and_then(|(_, rest)| rest.split('"').next()?.parse().ok())
            .unwrap();
        for note in NOTES {
            assert!(svg.contains(note) && LEFT + text_w(note) <= width, "{note}");
        }
        // Every group's label is under it in both panels.
        assert_eq!(svg.matches(">depth=16</text>").count(), 2);
    }

    #[test]
    fn labels_fit_their_group() {
        let chart = sample();
        let group_w = group_w(chart.servers.len());
        for group in &chart.groups {
            let lines = wrap(&group.label, group_w - 6.0, false);
            assert!(lines.len() <= 2, "{lines:?}");
            for line in &lines {
                assert!(
                    text_w(line) <= group_w - 6.0,
                    "{line:?} is wider than its group"
                );
            }
            assert_eq!(lines.join(" "), group.label);
        }
        assert_eq!(
            wrap("echo c=1 × 128 B", 60.0, false),
            ["echo c=1", "× 128 B"],
            "a figure stays with its unit"
        );
        assert_eq!(
            wrap("http c=100 depth=16", 70.0, false),
            ["http c=100", "depth=16"]
        );
        assert_eq!(wrap("short", 100.0, false), ["short"]);
        assert_eq!(
            wrap("echo c=1 × 128 B", 100.0, true),
            ["echo c=1", "× 128 B"],
            "two lines when asked, though one would fit"
        );
        assert_eq!(wrap("a b c d", 19.0, false), ["a b", "c d"]);
        assert_eq!(
            wrap("echo c=128 × 4 KiB", 40.0, false),
            ["echo", "c=128", "× 4 KiB"],
            "greedy, still without breaking a figure"
        );
    }

    #[test]
    fn the_axis_leaves_room_for_whiskers_within_reason() {
        // Medians up to 1.4, whiskers to 1.5: everything fits.
        let (top, step) = axis(1.4, 1.5);
        assert!((1.5..=1.8).contains(&top), "{top}");
        assert_eq!(step, 0.2);
        // A whisker at 9 does not squash medians of 3.5.
        let (top, step) = axis(3.5, 9.0);
        assert!((3.5 * WHISKER_ROOM..9.0).contains(&top), "{top}");
        assert_eq!(step, 1.0);
    }

    #[test]
    fn the_table_reads_back() {
        let md = "# Benchmarks\n\nintro\n\n## echo c=1 × 128 B\n\n\
                  | server | req/s (min–max) | ×tokio | server CPU ns/req (min–max) | ×tokio | p99 µs | steal |\n\
                  |---|---|---|---|---|---|---|\n\
                  | tokio | 7935 (1101–10614) | 1.00 | 50412 (36771–423729) | 1.00 | 1312 | 11.7% |\n\
                  | compio | 9351 (1245–10512) | 1.18 | 44202 (41541–353319) | 0.88 | 772 | 6.2% |\n\n\
                  ## http c=100 depth=1\n\n\
                  | server | req/s (min–max) | ×tokio | server CPU ns/req (min–max) | ×tokio | p99 µs | steal |\n\
                  |---|---|---|---|---|---|---|\n\
                  | compio | 101074 (67075–143058) | 0.67 | 7717 (6664–7868) | 1.30 | 6936 | 14.5% |\n";
        let chart = Chart::from_markdown(md).unwrap();
        assert_eq!(chart.servers, ["tokio", "compio"]);
        assert_eq!(chart.groups.len(), 2);
        assert_eq!(chart.groups[0].label, "echo c=1 × 128 B");
        assert_eq!(
            chart.groups[0].figures[0].map(|f| f.rps),
            Some(Spread {
                median: 7935.0,
                min: 1101.0,
                max: 10614.0
            })
        );
        assert_eq!(chart.groups[1].figures[0], None, "tokio was not measured");
        assert_eq!(
            chart.groups[1].figures[1].map(|f| f.cpu_ns.max),
            Some(7868.0)
        );
        assert!(Chart::from_markdown("# nothing here\n").is_err());
        assert!(Chart::from_markdown("## p\n| a | x | 1 | y |\n").is_err());
    }

    /// Each committed chart is the one its committed block draws.
    #[test]
    fn benchmarks_svg_is_drawn_from_benchmarks_md() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let Ok(md) = std::fs::read_to_string(format!("{root}/BENCHMARKS.md")) else {
            return;
        };
        let blocks = super::super::blocks(&md);
        assert!(!blocks.is_empty(), "BENCHMARKS.md has no blocks");
        for (set, block) in blocks {
            if !super::super::has_chart(set) {
                continue;
            }
            let file = super::super::chart_file(set);
            let svg = std::fs::read_to_string(format!("{root}/{file}")).unwrap_or_default();
            assert!(
                svg == Chart::from_markdown(block).unwrap().render(),
                "{file} is stale: cargo xtask bench --redraw"
            );
        }
    }
}
