//! The CLI's [`Reporter`]: an indicatif progress bar on stderr when it is a terminal,
//! plain log lines otherwise (so batch logs stay readable).

use gep_core::Reporter;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;

/// Progress on stderr.
pub struct CliProgress {
    bar: Mutex<Option<ProgressBar>>,
    tty: bool,
    quiet: bool,
    warnings: Mutex<Vec<String>>,
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

    /// Warnings reported so far.
    #[allow(dead_code)] // read by the manifest writer
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.lock().map(|w| w.clone()).unwrap_or_default()
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

    fn start(&self, what: &str, total: u64) {
        if self.quiet {
            return;
        }
        if self.tty {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg:>10} [{bar:40}] {pos}/{len} {per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_message(what.to_string());
            if let Ok(mut b) = self.bar.lock() {
                *b = Some(bar);
            }
        } else {
            eprintln!(
                "{what}: {total} {}",
                crate::run::plural(total as usize, "step")
            );
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
            w.push(message.to_string());
        }
        match self.bar.lock().ok().and_then(|b| b.clone()) {
            Some(bar) => bar.println(format!("warning: {message}")),
            None => eprintln!("warning: {message}"),
        }
    }
}
