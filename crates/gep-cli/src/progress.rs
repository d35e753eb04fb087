//! The CLI's [`Reporter`]: an indicatif progress bar on stderr when it is a terminal,
//! plain log lines otherwise (so batch logs stay readable). What the run is doing — reading
//! inputs, tallying county N of M (with its name), checking, valuing, writing — comes from the
//! library as [`ProgressEvent`]s and is worded here in the chosen language.

use crate::i18n::{self, t, tf};

use gep_core::{Lang, ProgressEvent, Reporter};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;

/// Progress on stderr.
pub struct CliProgress {
    bar: Mutex<Option<ProgressBar>>,
    tty: bool,
    quiet: bool,
    /// Each warning in English (for the manifest) and in Chinese (for a zh report).
    warnings: Mutex<Vec<(String, String)>>,
}

impl CliProgress {
    /// A reporter; `quiet` hides progress (warnings are still printed).
    pub fn new(quiet: bool) -> CliProgress {
        CliProgress {
            bar: Mutex::new(None),
            tty: std::io::stderr().is_terminal(),
            quiet,
            warnings: Mutex::new(Vec::new()),
        }
    }

    /// Warnings reported so far, in English (the library's wording; the CLI's own warnings
    /// in the language they were printed in).
    pub fn warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .map(|w| w.iter().map(|p| p.0.clone()).collect())
            .unwrap_or_default()
    }

    /// Warnings reported so far, in Chinese where the library words them (the same list as
    /// [`CliProgress::warnings`], item for item).
    pub fn warnings_zh(&self) -> Vec<String> {
        self.warnings
            .lock()
            .map(|w| w.iter().map(|p| p.1.clone()).collect())
            .unwrap_or_default()
    }

    fn print_warning(&self, message: &str) {
        let line = tf("progress.warning", &[("message", &message)]);
        match self.bar.lock().ok().and_then(|b| b.clone()) {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }
}

impl Reporter for CliProgress {
    /// Prints a status line (above the bar if one is drawn).
    fn status(&self, msg: &str) {
        if self.quiet {
            return;
        }
        match self.bar.lock().ok().and_then(|b| b.clone()) {
            Some(bar) => bar.println(msg),
            None => eprintln!("{msg}"),
        }
    }

    fn event(&self, event: &ProgressEvent) {
        let line = match event {
            ProgressEvent::ReadingInputs => t("progress.reading_inputs").to_string(),
            ProgressEvent::ReadingBoundaries { path, level } => tf(
                "progress.reading_boundaries",
                &[("path", path), ("level", &i18n::level(*level))],
            ),
            ProgressEvent::Tallying { units, level } => tf(
                "progress.tallying",
                &[("n", &i18n::count(*units, level.as_str()))],
            ),
            ProgressEvent::Tallied {
                level,
                id,
                name,
                done,
                of,
            } => tf(
                "progress.tallied",
                &[
                    ("level", &i18n::level(*level)),
                    ("done", done),
                    ("of", of),
                    ("name", name),
                    ("id", id),
                ],
            ),
            ProgressEvent::FromCache { level, id, name } => tf(
                "progress.from_cache",
                &[("level", &i18n::level(*level)), ("name", name), ("id", id)],
            ),
            ProgressEvent::Checking => t("progress.checking").to_string(),
            ProgressEvent::Valuing => t("progress.valuing").to_string(),
            ProgressEvent::ChangeRun(run) => t(match run {
                gep_core::ChangeRun::Year0 => "progress.change_year0",
                gep_core::ChangeRun::Counterfactual => "progress.change_counterfactual",
                gep_core::ChangeRun::Year1 => "progress.change_year1",
            })
            .to_string(),
            other => other.to_string(),
        };
        self.status(&line);
    }

    fn start(&self, what: &str, total: u64) {
        if self.quiet {
            return;
        }
        // The bar's label, worded; the steps (raster windows, families) are not announced
        // in logs: the events say what is being done.
        let label = match what {
            "tally" => t("progress.bar_tally"),
            "hierarchy geometry" => t("progress.bar_geometry"),
            "classes" => t("progress.bar_classes"),
            other => other,
        };
        if self.tty {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg:>10} [{bar:40}] {pos}/{len} {per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_message(label.to_string());
            if let Ok(mut b) = self.bar.lock() {
                *b = Some(bar);
            }
        }
    }

    fn advance(&self, n: u64) {
        if let Ok(b) = self.bar.lock() {
            if let Some(bar) = b.as_ref() {
                bar.inc(n);
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut b) = self.bar.lock() {
            if let Some(bar) = b.take() {
                bar.finish_and_clear();
            }
        }
    }

    fn warn(&self, message: &str) {
        if let Ok(mut w) = self.warnings.lock() {
            w.push((message.to_string(), message.to_string()));
        }
        self.print_warning(message);
    }

    /// Printed in the messages' language; both wordings kept.
    fn warn_in(&self, message: &dyn Fn(Lang) -> String) {
        let (en, zh) = (message(Lang::En), message(Lang::Zh));
        let shown = if i18n::zh() { &zh } else { &en }.clone();
        if let Ok(mut w) = self.warnings.lock() {
            w.push((en, zh));
        }
        self.print_warning(&shown);
    }
}
