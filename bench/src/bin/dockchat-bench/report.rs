//! Results: an ordered set of named figures printed as a readable table on stdout followed by exactly
//! one JSON line (`{"scenario":...}`), plus latency histograms (HDR, microsecond resolution).

use hdrhistogram::Histogram;
use serde_json::{Map, Value};

/// Latency histogram in microseconds, 1 µs to 10 min, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("constant histogram bounds are valid")
}

/// Milliseconds, three decimals, from microseconds.
pub fn ms(us: u64) -> f64 {
    (us as f64 / 1000.0 * 1000.0).round() / 1000.0
}

/// Rounds to `digits` decimals.
pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// Percentile summary (milliseconds) of a microsecond histogram, as JSON fields with `prefix`.
pub fn latency_fields(prefix: &str, h: &Histogram<u64>) -> Vec<(String, Value)> {
    if h.is_empty() {
        return vec![(format!("{prefix}samples"), Value::from(0u64))];
    }
    vec![
        (format!("{prefix}samples"), Value::from(h.len())),
        (
            format!("{prefix}p50_ms"),
            Value::from(ms(h.value_at_quantile(0.50))),
        ),
        (
            format!("{prefix}p99_ms"),
            Value::from(ms(h.value_at_quantile(0.99))),
        ),
        (
            format!("{prefix}p999_ms"),
            Value::from(ms(h.value_at_quantile(0.999))),
        ),
        (format!("{prefix}max_ms"), Value::from(ms(h.max()))),
    ]
}

/// A scenario's results, in insertion order.
pub struct Report {
    fields: Map<String, Value>,
    order: Vec<String>,
}

impl Report {
    /// A report for `scenario`.
    pub fn new(scenario: &str) -> Report {
        let mut r = Report {
            fields: Map::new(),
            order: Vec::new(),
        };
        r.set("scenario", scenario);
        r
    }

    /// Sets a figure.
    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        if !self.fields.contains_key(key) {
            self.order.push(key.to_string());
        }
        self.fields.insert(key.to_string(), value.into());
    }

    /// Sets many figures.
    pub fn extend(&mut self, items: Vec<(String, Value)>) {
        for (k, v) in items {
            self.set(&k, v);
        }
    }

    /// A figure previously set.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// Prints the table, then the JSON line.
    pub fn print(&self) {
        let width = self.order.iter().map(|k| k.len()).max().unwrap_or(8);
        println!("{}", "-".repeat(width + 24));
        for key in &self.order {
            let v = &self.fields[key];
            let shown = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            println!("{key:<width$}  {shown}");
        }
        println!("{}", "-".repeat(width + 24));
        println!("{}", self.json_line());
    }

    /// The one-line JSON object, keys in insertion order (`scenario` first).
    pub fn json_line(&self) -> String {
        let parts: Vec<String> = self
            .order
            .iter()
            .map(|k| format!("{}:{}", Value::from(k.as_str()), self.fields[k]))
            .collect();
        format!("{{{}}}", parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_fields_are_milliseconds() {
        let mut h = histogram();
        for us in 1..=1000u64 {
            h.record(us).unwrap();
        }
        let f: std::collections::HashMap<_, _> = latency_fields("lat_", &h).into_iter().collect();
        assert_eq!(f["lat_samples"], Value::from(1000u64));
        let p50 = f["lat_p50_ms"].as_f64().unwrap();
        assert!((0.49..=0.51).contains(&p50), "{p50}");
        assert_eq!(f["lat_max_ms"].as_f64().unwrap(), 1.0);
    }

    #[test]
    fn json_line_keeps_order() {
        let mut r = Report::new("idle");
        r.set("held", 3u64);
        r.set("db", "mariadb");
        assert_eq!(r.get("held"), Some(&Value::from(3u64)));
        assert_eq!(
            r.json_line(),
            r#"{"scenario":"idle","held":3,"db":"mariadb"}"#
        );
    }
}
