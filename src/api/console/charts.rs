//! Stacked bar charts drawn by the server as inline SVG (no script, no image requests:
//! the CSP allows neither), each followed by the same numbers as a table.

use maud::{Markup, html};

/// A series of a chart: its label and the CSS class that colours it (`s-<class>`).
pub struct Series<'a> {
    pub label: &'a str,
    pub class: &'a str,
}

/// A bar: its label (an hour, a day) and one value per series.
pub struct Bar {
    pub label: String,
    /// A shorter label for the axis (every few bars carry one).
    pub tick: String,
    pub values: Vec<i64>,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 180.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 22.0;
const TOP: f64 = 8.0;

/// A round number at or above `max` for the axis (1, 2, 5 × 10ⁿ).
fn axis_top(max: i64) -> i64 {
    if max <= 0 {
        return 1;
    }
    let mut step = 1i64;
    loop {
        for m in [1, 2, 5] {
            if step.saturating_mul(m) >= max {
                return step.saturating_mul(m);
            }
        }
        step = step.saturating_mul(10);
    }
}

/// A drawn segment of a bar: (series class, x, y, width, height).
type Segment<'a> = (&'a str, String, String, String, String);

/// A stacked bar chart (`id` names its title and table) and its table.
pub fn stacked(id: &str, title: &str, series: &[Series<'_>], bars: &[Bar]) -> Markup {
    let totals: Vec<i64> = bars.iter().map(|b| b.values.iter().sum()).collect();
    let top = axis_top(totals.iter().copied().max().unwrap_or(0));
    let plot_h = HEIGHT - BOTTOM - TOP;
    let slot = (WIDTH - LEFT) / bars.len().max(1) as f64;
    let bar_w = (slot * 0.72).max(1.0);
    let scale = plot_h / top as f64;
    let tick_every = (bars.len() / 8).max(1);
    let sum_all: i64 = totals.iter().sum();
    let summary = format!(
        "{title}: {sum_all} in all; {}.",
        series
            .iter()
            .enumerate()
            .map(|(i, s)| format!(
                "{} {}",
                s.label,
                bars.iter().map(|b| b.values.get(i).copied().unwrap_or(0)).sum::<i64>()
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let title_id = format!("{id}-title");
    // Each bar's segments, bottom up: (series class, x, y, width, height).
    let segments: Vec<Vec<Segment<'_>>> = bars
        .iter()
        .enumerate()
        .map(|(i, bar)| {
            let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
            let mut y = TOP + plot_h;
            bar.values
                .iter()
                .enumerate()
                .filter(|(_, v)| **v > 0)
                .map(|(j, v)| {
                    let h = *v as f64 * scale;
                    y -= h;
                    let class = series.get(j).map_or("other", |s| s.class);
                    (class, format!("{x:.1}"), format!("{y:.1}"), format!("{bar_w:.1}"), format!("{h:.1}"))
                })
                .collect()
        })
        .collect();
    html! {
        figure class="chart" id=(id) {
            figcaption id=(title_id) { (title) }
            ul class="legend" aria-hidden="true" {
                @for s in series { li { span class={ "swatch s-" (s.class) } {} (s.label) } }
            }
            svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-labelledby=(title_id) aria-describedby={ (id) "-sum" }
                preserveAspectRatio="none" class="bars" {
                desc id={ (id) "-sum" } { (summary) }
                // Grid: the axis top, its half when that is a whole number, and zero.
                @for (frac, value) in [(1.0, top), (0.5, top / 2), (0.0, 0)].into_iter().filter(|(f, _)| *f != 0.5 || top % 2 == 0) {
                    @let y = TOP + plot_h * (1.0 - frac);
                    line class="grid" x1=(LEFT) x2=(WIDTH) y1=(y) y2=(y) {}
                    text class="axis" x=(LEFT - 6.0) y=(y + 4.0) text-anchor="end" { (value) }
                }
                @for (i, bar) in bars.iter().enumerate() {
                    @let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
                    g {
                        title { (bar.label) ": " (totals[i]) }
                        @for (class, sx, sy, sw, sh) in &segments[i] {
                            rect class={ "s-" (class) } x=(sx) y=(sy) width=(sw) height=(sh) {}
                        }
                    }
                    @if i % tick_every == 0 {
                        text class="axis" x=(format!("{:.1}", x + bar_w / 2.0)) y=(HEIGHT - 6.0) text-anchor="middle" { (bar.tick) }
                    }
                }
            }
            details class="as-table" {
                summary { "Show " (title.to_lowercase()) " as a table" }
                table class="numbers" {
                    caption class="sr-only" { (title) }
                    thead { tr {
                        th scope="col" { "Period" }
                        @for s in series { th scope="col" { (s.label) } }
                        th scope="col" { "Total" }
                    } }
                    tbody {
                        @for (i, bar) in bars.iter().enumerate() {
                            tr {
                                th scope="row" { (bar.label) }
                                @for v in &bar.values { td { (v) } }
                                td { (totals[i]) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_tops_are_round_and_cover_the_largest_bar() {
        assert_eq!(axis_top(0), 1);
        assert_eq!(axis_top(1), 1);
        assert_eq!(axis_top(3), 5);
        assert_eq!(axis_top(7), 10);
        assert_eq!(axis_top(11), 20);
        assert_eq!(axis_top(999), 1000);
        assert_eq!(axis_top(1001), 2000);
    }

    #[test]
    fn a_chart_draws_one_rect_per_nonzero_value_and_tables_every_number() {
        let series = [Series { label: "Created", class: "created" }, Series { label: "Rejected", class: "rejected" }];
        let bars = vec![
            Bar { label: "02:00".into(), tick: "02".into(), values: vec![3, 0] },
            Bar { label: "03:00".into(), tick: "03".into(), values: vec![1, 4] },
        ];
        let out = stacked("c", "Last 24 hours", &series, &bars).into_string();
        assert_eq!(out.matches("<rect").count(), 3);
        assert!(out.contains("class=\"s-rejected\""));
        assert!(out.contains("Last 24 hours: 8 in all; Created 4, Rejected 4."));
        assert!(out.contains("<th scope=\"row\">03:00</th><td>1</td><td>4</td><td>5</td>"));
        // Axis 0–5: no half line (2.5 is not a count).
        assert_eq!(out.matches("class=\"grid\"").count(), 2);
    }
}
