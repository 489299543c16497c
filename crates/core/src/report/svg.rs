//! Inline SVG time charts for the report: one shared time axis (the report's window),
//! series as lines or steps, and vertical marks for alarm changes and failed verdicts.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::{escape, Point};

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

pub struct Series {
    pub label: String,
    pub color: &'static str,
    pub points: Vec<Point>,
    /// Drawn as steps held until the next point (and the window's end), not as a line.
    pub step: bool,
}

pub struct Mark {
    pub at: DateTime<Utc>,
    pub color: &'static str,
    pub label: String,
}

pub struct Chart<'a> {
    pub id: &'a str,
    pub unit: &'a str,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The top of the y axis; `None`: a round number above the highest value.
    pub y_max: Option<f64>,
    pub series: Vec<Series>,
    pub marks: &'a [Mark],
}

impl Chart<'_> {
    fn x(&self, at: DateTime<Utc>) -> f64 {
        let span = (self.end - self.start).num_milliseconds().max(1) as f64;
        let offset = (at - self.start).num_milliseconds() as f64;
        LEFT + (offset / span).clamp(0.0, 1.0) * (WIDTH - LEFT - RIGHT)
    }

    fn y(&self, value: f64, top: f64) -> f64 {
        let height = HEIGHT - TOP - BOTTOM;
        TOP + height - (value / top).clamp(0.0, 1.0) * height
    }
}

/// 1, 2 or 5 times a power of ten, at or above `value` (and at least 1).
fn round_up(value: f64) -> f64 {
    if !(value.is_finite() && value > 1.0) {
        return 1.0;
    }
    let power = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|v| *v >= value)
        .unwrap_or(10.0 * power)
}

pub fn chart(c: &Chart) -> String {
    let highest = c
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.value))
        .fold(0.0, f64::max);
    let top = c.y_max.unwrap_or_else(|| round_up(highest * 1.1));
    let mut svg = format!(
        "<svg id=\"{}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         role=\"img\" font-family=\"system-ui,sans-serif\" font-size=\"11\">",
        c.id
    );
    // Grid and y labels: 0, half, top.
    for fraction in [0.0, 0.5, 1.0] {
        let y = c.y(top * fraction, top);
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e4e7eb\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#52606d\">{} {}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            (top * fraction * 100.0).round() / 100.0,
            escape(c.unit)
        );
    }
    // Time labels: six along the window.
    let span = c.end - c.start;
    let format = match span.num_hours() < 20 {
        true => "%H:%M:%S",
        false => "%m-%d %H:%M",
    };
    for i in 0..=5 {
        let at = c.start + span * i / 5;
        let anchor = match i {
            0 => "start",
            5 => "end",
            _ => "middle",
        };
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"{anchor}\" fill=\"#52606d\">{}</text>",
            c.x(at),
            HEIGHT - 8.0,
            at.format(format)
        );
    }
    let bottom = c.y(0.0, top);
    let _ = write!(
        svg,
        "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{bottom:.1}\" y2=\"{bottom:.1}\" stroke=\"#9aa5b1\"/>",
        WIDTH - RIGHT
    );
    for m in c.marks {
        let x = c.x(m.at);
        let _ = write!(
            svg,
            "<line class=\"mark\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{TOP}\" y2=\"{bottom:.1}\" stroke=\"{}\" \
             stroke-width=\"1.5\" stroke-dasharray=\"4 3\"><title>{}</title></line>",
            m.color,
            escape(&m.label)
        );
    }
    for s in &c.series {
        svg.push_str(&series(c, s, top));
    }
    if c.series.iter().all(|s| s.points.is_empty()) {
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#9aa5b1\">no data in this window</text>",
            WIDTH / 2.0,
            HEIGHT / 2.0
        );
    }
    svg.push_str("</svg>");
    if c.series.len() > 1 {
        svg.push_str("<div class=\"legend\">");
        for s in &c.series {
            let _ = write!(
                svg,
                "<span><span class=\"swatch\" style=\"background:{}\"></span>{}</span>",
                s.color,
                escape(&s.label)
            );
        }
        svg.push_str("</div>");
    }
    svg
}

fn series(c: &Chart, s: &Series, top: f64) -> String {
    let mut points = s.points.clone();
    points.sort_by_key(|p| p.at);
    let Some(first) = points.first() else {
        return String::new();
    };
    let mut path = format!("M{:.1} {:.1}", c.x(first.at), c.y(first.value, top));
    for p in &points[1..] {
        let (x, y) = (c.x(p.at), c.y(p.value, top));
        match s.step {
            true => {
                let _ = write!(path, " H{x:.1} V{y:.1}");
            }
            false => {
                let _ = write!(path, " L{x:.1} {y:.1}");
            }
        }
    }
    if s.step {
        let _ = write!(path, " H{:.1}", c.x(c.end));
    }
    let mut svg = format!(
        "<g class=\"series\"><title>{}</title><path d=\"{path}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>",
        escape(&s.label),
        s.color
    );
    for p in &points {
        let _ = write!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{}\"><title>{} {}: {}</title></circle>",
            c.x(p.at),
            c.y(p.value, top),
            s.color,
            escape(&s.label),
            p.at.format("%H:%M:%S"),
            (p.value * 100.0).round() / 100.0
        );
    }
    svg.push_str("</g>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_the_axis_up_to_one_two_or_five() {
        assert_eq!(round_up(0.3), 1.0);
        assert_eq!(round_up(13.0), 20.0);
        assert_eq!(round_up(212.0), 500.0);
        assert_eq!(round_up(f64::NAN), 1.0);
    }
}
