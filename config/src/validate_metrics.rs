//! Rules for the `metrics` section: an address a scraper can actually reach.

use crate::error::{key_path, Problem};
use crate::model::Metrics;

/// Checks `metrics` at `path`; the address itself was already parsed when typed.
pub(crate) fn metrics(metrics: &Metrics, path: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    if metrics.listen.port() == 0 {
        // Port 0 would pick a different port on every start; no scraper could be pointed at it.
        problems.push(Problem::new(
            key_path(path, "listen"),
            "the port must not be 0; name the port scrapers use, e.g. 127.0.0.1:9464",
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use crate::test_support::{load, problems, MINIMAL};

    fn with_metrics(section: &str) -> String {
        format!("{MINIMAL}metrics:\n{section}")
    }

    #[test]
    fn absent_means_no_endpoint() {
        assert_eq!(load(MINIMAL).metrics, None);
        assert_eq!(load(&format!("{MINIMAL}metrics:\n")).metrics, None);
    }

    #[test]
    fn loopback_and_network_addresses_load() {
        let local = load(&with_metrics("  listen: 127.0.0.1:9464\n"))
            .metrics
            .unwrap();
        assert_eq!(local.listen.to_string(), "127.0.0.1:9464");
        assert!(!local.reachable_from_network());
        let v6 = load(&with_metrics("  listen: '[::1]:9464'\n"))
            .metrics
            .unwrap();
        assert!(!v6.reachable_from_network());
        let open = load(&with_metrics("  listen: 0.0.0.0:9464\n"))
            .metrics
            .unwrap();
        assert!(open.reachable_from_network());
    }

    #[test]
    fn bad_addresses_are_reported_at_the_key() {
        let found = problems(&with_metrics("  listen: localhost\n"));
        let expected = "metrics.listen: expected an IP address and port such as 127.0.0.1:9464 \
                        or [::1]:9464, got \"localhost\"";
        assert_eq!(found, [expected]);
        let found = problems(&with_metrics("  listen: 127.0.0.1:0\n"));
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("metrics.listen: the port must not be 0"));
        let found = problems(&with_metrics("  port: 9464\n"));
        assert!(
            found.iter().any(|p| p.contains("metrics.port")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|p| p.contains("metrics.listen")),
            "{found:?}"
        );
    }

    #[test]
    fn problems_elsewhere_are_reported_alongside() {
        let text = with_metrics("  listen: nowhere\n").replace("tenantId: acme", "tenantId: ''");
        let found = problems(&text);
        assert!(
            found.iter().any(|p| p.starts_with("metrics.listen")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|p| p.starts_with("controlPlane.tenantId")),
            "{found:?}"
        );
    }
}
