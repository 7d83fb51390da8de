//! The digests' charts: opened and resolved tickets per day, SLA attainment and satisfaction
//! per week, the backlog by age. [`gather`] reads the figures into the digest's context (the
//! templates show each chart's title, legend and figures as text too); [`images`] draws them as
//! PNGs for the HTML part, shown by `cid:`.

use chrono::{Datelike, TimeZone};
use serde_json::{json, Value};

use crate::chart::{Bars, Colour, Series};
use crate::config::DigestConfig;
use crate::mail::compose::Inline;
use crate::store::{models, AnyConnection};

const DAY: i64 = 86_400_000;
/// Days of the opened/resolved chart, weeks of the weekly ones.
const DAYS: i64 = 14;
const WEEKS: i64 = 8;

/// The start of the local day of `ms` in the digest's timezone.
fn day_start(d: &DigestConfig, ms: i64) -> i64 {
    let Some(t) = chrono::Utc.timestamp_millis_opt(ms).single() else {
        return ms - ms.rem_euclid(DAY);
    };
    let local = t.with_timezone(&d.timezone);
    let midnight = local
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists");
    d.timezone
        .from_local_datetime(&midnight)
        .earliest()
        .map_or(ms - ms.rem_euclid(DAY), |m| m.timestamp_millis())
}

fn label(d: &DigestConfig, ms: i64, week: bool) -> String {
    let t = chrono::Utc
        .timestamp_millis_opt(ms)
        .single()
        .unwrap_or_default()
        .with_timezone(&d.timezone);
    if week {
        format!("W{:02}", t.iso_week().week())
    } else {
        format!("{:02}.{:02}", t.day(), t.month())
    }
}

fn series(colour: Colour, name: &str, values: &[Option<f64>]) -> Value {
    json!({"colour": format!("{colour:?}").to_lowercase(), "css": colour.css(), "name": name,
           "values": values})
}

/// The figures as one line of text: `label value/value, ...`.
fn as_text(labels: &[String], columns: &[&[Option<f64>]], suffix: &str) -> String {
    labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let vals: Vec<String> = columns
                .iter()
                .map(|c| match c.get(i).copied().flatten() {
                    Some(v) if v.fract() == 0.0 => format!("{v:.0}{suffix}"),
                    Some(v) => format!("{v:.1}{suffix}"),
                    None => "-".into(),
                })
                .collect();
            format!("{l} {}", vals.join("/"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[allow(clippy::too_many_arguments)]
fn chart(
    cid: &str,
    title: &str,
    labels: Vec<String>,
    cols: &[(Colour, &str, Vec<Option<f64>>)],
    max: Option<f64>,
    suffix: &str,
) -> Value {
    let columns: Vec<&[Option<f64>]> = cols.iter().map(|c| c.2.as_slice()).collect();
    json!({
        "cid": cid,
        "title": title,
        "text": as_text(&labels, &columns, suffix),
        "labels": labels,
        "series": cols.iter().map(|(c, n, v)| series(*c, n, v)).collect::<Vec<_>>(),
        "max": max,
        "suffix": suffix,
    })
}

/// The charts' figures for digest `d` at `now`.
pub fn gather(c: &mut AnyConnection, d: &DigestConfig, now: i64) -> diesel::QueryResult<Value> {
    let q = &d.queues;
    // Per day, the last 14 local days (today included).
    let today = day_start(d, now);
    let first = today - (DAYS - 1) * DAY;
    let mut opened = vec![Some(0.0); DAYS as usize];
    let mut resolved = vec![Some(0.0); DAYS as usize];
    for (list, resolved_times) in [(&mut opened, false), (&mut resolved, true)] {
        for t in models::ticket_times(c, q, resolved_times, first, now + 1)? {
            let i = ((t - first) / DAY).clamp(0, DAYS - 1) as usize;
            if let Some(v) = &mut list[i] {
                *v += 1.0;
            }
        }
    }
    let days: Vec<String> = (0..DAYS)
        .map(|i| label(d, first + i * DAY + DAY / 2, false))
        .collect();

    // Per week, the last 8 weeks of 7 days ending now.
    let mut weeks = Vec::new();
    let (mut first_response, mut resolution, mut csat) = (Vec::new(), Vec::new(), Vec::new());
    for w in (0..WEEKS).rev() {
        let (from, to) = (now - (w + 1) * 7 * DAY, now - w * 7 * DAY);
        weeks.push(label(d, to - 1, true));
        let ((fr_n, fr_met), (res_n, res_met)) = models::sla_attainment(c, q, from, to)?;
        let pct =
            |n: i64, met: i64| (n > 0).then(|| (met as f64 * 1000.0 / n as f64).round() / 10.0);
        first_response.push(pct(fr_n, fr_met));
        resolution.push(pct(res_n, res_met));
        let (_, answered, sum) = models::surveys_in(c, q, from, to)?;
        csat.push((answered > 0).then(|| (sum as f64 * 10.0 / answered as f64).round() / 10.0));
    }

    // The open tickets by age.
    let bounds = [
        (DAY, "<1d"),
        (3 * DAY, "1-3d"),
        (7 * DAY, "3-7d"),
        (28 * DAY, "1-4w"),
        (i64::MAX, ">4w"),
    ];
    let mut backlog = vec![Some(0.0); bounds.len()];
    for t in models::open_since(c, q)? {
        let age = now - t;
        let i = bounds
            .iter()
            .position(|(b, _)| age < *b)
            .unwrap_or(bounds.len() - 1);
        if let Some(v) = &mut backlog[i] {
            *v += 1.0;
        }
    }

    Ok(json!([
        chart(
            "opened@postdesk",
            "Tickets opened and resolved per day",
            days,
            &[
                (Colour::Blue, "opened", opened),
                (Colour::Green, "resolved", resolved)
            ],
            None,
            ""
        ),
        chart(
            "sla@postdesk",
            "SLA attainment per week",
            weeks.clone(),
            &[
                (Colour::Blue, "first response", first_response),
                (Colour::Green, "resolution", resolution)
            ],
            Some(100.0),
            "%"
        ),
        chart(
            "csat@postdesk",
            "Satisfaction per week (1 to 5)",
            weeks,
            &[(Colour::Orange, "average score", csat)],
            Some(5.0),
            ""
        ),
        chart(
            "backlog@postdesk",
            "Open tickets by age",
            bounds.iter().map(|(_, l)| l.to_string()).collect(),
            &[(Colour::Red, "open tickets", backlog)],
            None,
            ""
        ),
    ]))
}

/// The charts of a digest's context as inline PNGs.
pub fn images(charts: &Value) -> Vec<Inline> {
    let colour = |s: &str| match s {
        "green" => Colour::Green,
        "orange" => Colour::Orange,
        "red" => Colour::Red,
        _ => Colour::Blue,
    };
    charts
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|ch| {
            let bars = Bars {
                labels: ch["labels"]
                    .as_array()
                    .map(|l| {
                        l.iter()
                            .map(|x| x.as_str().unwrap_or_default().to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
                series: ch["series"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .map(|s| Series {
                        colour: colour(s["colour"].as_str().unwrap_or_default()),
                        values: s["values"]
                            .as_array()
                            .map(|v| v.iter().map(Value::as_f64).collect())
                            .unwrap_or_default(),
                    })
                    .collect(),
                max: ch["max"].as_f64(),
                suffix: if ch["suffix"] == "%" { "%" } else { "" },
            };
            Inline {
                cid: ch["cid"].as_str().unwrap_or_default().to_string(),
                content_type: "image/png",
                bytes: bars.png(),
            }
        })
        .collect()
}
