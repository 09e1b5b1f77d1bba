//! The JSON report: the whole [`RunReport`], for tools.

use super::RunReport;

/// Renders the report as pretty-printed JSON.
pub fn render(report: &RunReport) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn json_parses_back_with_every_case_and_the_summary() {
        let report = fixture::report();
        let value: serde_json::Value = serde_json::from_str(&render(&report)).unwrap();
        let cases = value["cases"].as_array().unwrap();
        assert_eq!(cases.len(), report.cases.len());
        let frozen = cases.iter().find(|c| c["id"] == "user.frozen").unwrap();
        assert_eq!(frozen["verdict"], "fail");
        assert_eq!(frozen["tier"], "seed");
        assert_eq!(frozen["spec"], "seed S7");
        assert_eq!(frozen["checks"][0]["weight"], "fail");
        assert_eq!(frozen["exchanges"][0]["response"]["status"], 400);
        assert_eq!(value["summary"]["passed"], 2); // a warning passes
        assert_eq!(value["summary"]["warnings"], 1);
        assert_eq!(value["summary"]["expected_failures"], 1);
        assert_eq!(value["restore"]["ok"], true);
    }
}
