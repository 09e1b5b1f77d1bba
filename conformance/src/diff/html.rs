//! stub
use super::DiffReport;
/// Renders.
pub fn render(_report: &DiffReport) -> String {
    String::new()
}
