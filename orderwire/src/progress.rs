//! The CLI's progress bars (indicatif, on stderr): one style for work
//! measured in bytes (a replay or an export of a large capture) and one
//! for work measured in items (a demo's orders).

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `total` bytes, labelled `what`.
pub fn bytes(total: u64, what: &str) -> ProgressBar {
    styled(
        total,
        &format!("{what} {{bar:40}} {{bytes}}/{{total_bytes}} ({{bytes_per_sec}}, {{eta}} left)"),
    )
}

/// A bar over `total` items, counted as `unit`.
pub fn items(total: u64, unit: &str) -> ProgressBar {
    styled(total, &format!("{{bar:40}} {{pos}}/{{len}} {unit} {{msg}}"))
}

fn styled(total: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
