//! Reading `/metrics` as Prometheus would: with a real text-format parser.

use openmetrics_parser::prometheus::parse_prometheus;
use openmetrics_parser::{MetricsExposition, PrometheusType, PrometheusValue};

pub type Scrape = MetricsExposition<PrometheusType, PrometheusValue>;

/// GETs `url` with `token` (if any) and parses the answer, which must be a success in the
/// text format.
pub async fn scrape(client: &reqwest::Client, url: &str, token: Option<&str>) -> Scrape {
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("scraping");
    let status = response.status();
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{url}: {status}: {text}");
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    parse_prometheus(&text).unwrap_or_else(|e| panic!("not Prometheus text format: {e:?}\n{text}"))
}

/// The value of the one sample of family `name` whose labels include `labels` (a histogram's
/// count); `None` when there is no such series.
pub fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let family = scrape.families.get(name)?;
    let found: Vec<&PrometheusValue> = family
        .iter_samples()
        .filter(|sample| {
            sample.get_labelset().is_ok_and(|set| {
                labels
                    .iter()
                    .all(|(k, v)| set.get_label_value(k) == Some(*v))
            })
        })
        .map(|sample| &sample.value)
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?} matches {found:?}");
    found.first().map(|value| match value {
        PrometheusValue::Counter(c) => c.value.as_f64(),
        PrometheusValue::Gauge(n) | PrometheusValue::Unknown(n) => n.as_f64(),
        PrometheusValue::Histogram(h) => h.count.unwrap_or_default() as f64,
        other => panic!("{name} is {other:?}"),
    })
}

/// A histogram's sample as [`value`] finds it: its buckets (upper bound, readings at or under
/// it), its count and its sum.
pub struct Histogram {
    pub buckets: Vec<(f64, f64)>,
    pub count: f64,
    pub sum: f64,
}

/// The histogram of family `name` whose labels include `labels`, if there is one.
pub fn histogram(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<Histogram> {
    let family = scrape.families.get(name)?;
    family.iter_samples().find_map(|sample| {
        let labelled = sample.get_labelset().is_ok_and(|set| {
            labels
                .iter()
                .all(|(k, v)| set.get_label_value(k) == Some(*v))
        });
        match &sample.value {
            PrometheusValue::Histogram(h) if labelled => Some(Histogram {
                buckets: h
                    .buckets
                    .iter()
                    .map(|b| (b.upper_bound, b.count.as_f64()))
                    .collect(),
                count: h.count.unwrap_or_default() as f64,
                sum: h.sum.as_ref().map_or(0.0, |s| s.as_f64()),
            }),
            _ => None,
        }
    })
}

/// Each deployment's readings handled so far, as the node's `/metrics` at `url` shows them.
pub async fn handled_per_deployment(client: &reqwest::Client, url: &str) -> Vec<f64> {
    let scraped = scrape(client, url, Some(super::NODE_METRICS_TOKEN)).await;
    let Some(family) = scraped.families.get("trellis_readings_handled_total") else {
        return Vec::new();
    };
    family
        .iter_samples()
        .map(|sample| match &sample.value {
            PrometheusValue::Counter(c) => c.value.as_f64(),
            other => panic!("trellis_readings_handled_total is {other:?}"),
        })
        .collect()
}
