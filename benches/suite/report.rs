//! The benchmark report: sections of Markdown tables with notes, printed to stdout and written to
//! `target/bench/report.md`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// One table of the report.
pub struct Section {
    title: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    notes: Vec<String>,
}

impl Section {
    pub fn new(title: impl Into<String>, headers: &[&str]) -> Self {
        Section {
            title: title.into(),
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn row<const N: usize>(&mut self, cells: [String; N]) {
        self.rows.push(cells.to_vec());
    }

    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    fn markdown(&self, out: &mut String) {
        let _ = writeln!(out, "## {}\n", self.title);
        let _ = writeln!(out, "| {} |", self.headers.join(" | "));
        let _ = writeln!(out, "|{}", " --- |".repeat(self.headers.len()));
        for row in &self.rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        for note in &self.notes {
            let _ = writeln!(out, "\n{note}");
        }
        out.push('\n');
    }
}

/// KiB as `12.3 MiB`.
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// `a / b` as a ratio like `1.93x`.
pub fn ratio(a: Duration, b: Duration) -> String {
    format!(
        "{:.2}x",
        a.as_secs_f64() / b.as_secs_f64().max(f64::MIN_POSITIVE)
    )
}

/// The whole report as Markdown, headed by what was run and on what.
pub fn render(header: &str, sections: &[Section]) -> String {
    let mut out = format!("# Relay benchmark report\n\n{header}\n\n");
    for section in sections {
        section.markdown(&mut out);
    }
    out
}

/// Writes the report next to the build output.
pub fn save(text: &str, path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}
