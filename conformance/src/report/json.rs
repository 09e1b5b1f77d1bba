//! The JSON report: the whole [`RunReport`], for tools, with its exit
//! code and why (`exit`: `{"code": 3, "why": "…"}`); the seed rows left
//! unverified are the stable field `unverified` (`row`, `title`, `why`,
//! `verify_with`, `cases`, `accepted`).

use serde::Serialize;

use super::{Exit, RunReport};

/// The report and its exit.
#[derive(Serialize)]
struct WithExit<'a> {
    #[serde(flatten)]
    report: &'a RunReport,
    exit: Exit,
}

/// Renders the report as pretty-printed JSON.
pub fn render(report: &RunReport) -> String {
    let with_exit = WithExit {
        report,
        exit: report.exit(),
    };
    serde_json::to_string_pretty(&with_exit).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
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
        assert_eq!(value["exit"]["code"], 1);
        assert!(
            value["exit"]["why"]
                .as_str()
                .unwrap()
                .starts_with("1 failed")
        );
        let rows: Vec<_> = value["unverified"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["row"].as_str().unwrap())
            .collect();
        assert_eq!(rows, ["S5", "S7", "S8"]);
        let s5 = &value["unverified"][0];
        assert_eq!(s5["verify_with"][0], "policy.require_symbol");
        assert_eq!(s5["accepted"], false);
        assert_eq!(
            s5["cases"][0],
            "policy.no-symbol: skip: policy.require_symbol is not set"
        );
    }
}
