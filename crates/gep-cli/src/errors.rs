//! Errors in the chosen language. English is the library errors' own wording (each names the
//! file, feature or key and the fix). Chinese rewords the typed errors users meet most —
//! the config file missing or unreadable, TOML syntax, an unknown or missing key, an input
//! file missing or unreadable, a CRS missing, no transformation, the output directory
//! refused, a bad value — from the message catalogue, and frames the others' detail.

use crate::i18n::{self, tf};
use gep_engine::{ConfigProblem, EngineError};
use std::path::Path;

/// The error as the user reads it, in the current language.
pub fn describe(e: &anyhow::Error) -> String {
    if !i18n::zh() {
        return format!("{e:#}");
    }
    for cause in e.chain() {
        if let Some(x) = cause.downcast_ref::<EngineError>() {
            return engine(x);
        }
        if let Some(x) = cause.downcast_ref::<gep_io::IoError>() {
            return io(x);
        }
        if let Some(x) = cause.downcast_ref::<gep_report::ReportError>() {
            return report(x);
        }
        if let Some(x) = cause.downcast_ref::<gep_core::CoreError>() {
            return core(x);
        }
    }
    tf("err.other", &[("detail", &format!("{e:#}"))])
}

fn engine(e: &EngineError) -> String {
    match e {
        EngineError::Config { path, problem } => config(path, problem),
        EngineError::Io(x) => io(x),
        EngineError::Report(x) => report(x),
        EngineError::Core(x) => core(x),
        EngineError::Context { what, inner } => {
            tf("err.context", &[("what", what), ("inner", &engine(inner))])
        }
        EngineError::Plan { .. } => tf("err.bad_value", &[("detail", e)]),
        EngineError::Input { .. } => tf("err.input", &[("detail", e)]),
        other => tf("err.other", &[("detail", other)]),
    }
}

fn config(path: &Path, p: &ConfigProblem) -> String {
    let path = path.display();
    match p {
        ConfigProblem::Missing => tf("err.config_missing", &[("path", &path)]),
        ConfigProblem::Unreadable { reason } => tf(
            "err.config_unreadable",
            &[("path", &path), ("reason", reason)],
        ),
        ConfigProblem::Syntax {
            line,
            column,
            detail,
        } => tf(
            "err.config_syntax",
            &[
                ("path", &path),
                ("line", line),
                ("column", column),
                ("detail", detail),
            ],
        ),
        ConfigProblem::UnknownKey {
            line,
            column,
            key,
            expected,
            ..
        } => tf(
            "err.config_unknown_key",
            &[
                ("path", &path),
                ("line", line),
                ("column", column),
                ("key", key),
                ("expected", &expected.join(", ")),
            ],
        ),
        ConfigProblem::MissingKey {
            line, column, key, ..
        } => tf(
            "err.config_missing_key",
            &[
                ("path", &path),
                ("line", line),
                ("column", column),
                ("key", key),
            ],
        ),
        ConfigProblem::BadValue {
            line,
            column,
            detail,
        } => tf(
            "err.config_bad_value",
            &[
                ("path", &path),
                ("line", line),
                ("column", column),
                ("detail", detail),
            ],
        ),
        other => tf("err.other", &[("detail", other)]),
    }
}

fn io(e: &gep_io::IoError) -> String {
    use gep_io::IoError as E;
    match e {
        E::Gdal {
            path,
            action,
            message,
        } => {
            if !path.exists() {
                tf("err.file_missing", &[("path", &path.display())])
            } else {
                tf(
                    "err.file_unreadable",
                    &[
                        ("path", &path.display()),
                        ("action", action),
                        ("message", message),
                    ],
                )
            }
        }
        E::Io { path, source } => {
            if source.kind() == std::io::ErrorKind::NotFound {
                tf("err.file_missing", &[("path", &path.display())])
            } else {
                tf(
                    "err.file_unreadable",
                    &[
                        ("path", &path.display()),
                        ("action", &"read"),
                        ("message", source),
                    ],
                )
            }
        }
        E::MissingCrs { path } => tf("err.missing_crs", &[("path", &path.display())]),
        E::NoTransformation { from, to, message } => tf(
            "err.no_transformation",
            &[("from", from), ("to", to), ("message", message)],
        ),
        E::MissingField {
            path,
            layer,
            field,
            role,
            available,
        } => tf(
            "err.missing_field",
            &[
                ("path", &path.display()),
                ("layer", layer),
                ("field", field),
                ("role", role),
                ("available", available),
            ],
        ),
        E::BadText {
            path,
            fid,
            field,
            reason,
            ..
        } => tf(
            "err.encoding",
            &[
                ("path", &path.display()),
                ("fid", fid),
                ("field", field),
                ("reason", reason),
            ],
        ),
        other => tf("err.other", &[("detail", other)]),
    }
}

fn report(e: &gep_report::ReportError) -> String {
    use gep_report::ReportError as E;
    match e {
        E::OutputIsWorkingDir { dir } => tf("err.out_cwd", &[("dir", &dir.display())]),
        E::OutputHoldsInput { dir, input } => tf(
            "err.out_input",
            &[("dir", &dir.display()), ("input", &input.display())],
        ),
        E::OutputNotADirectory { path } => tf("err.out_file", &[("path", &path.display())]),
        E::OutputNotOurs { dir, entries } => tf(
            "err.out_not_ours",
            &[("dir", &dir.display()), ("entries", &entries.join(", "))],
        ),
        E::OutputNameTaken { dir, name } => {
            tf("err.out_name_taken", &[("path", &dir.join(name).display())])
        }
        other => tf("err.other", &[("detail", other)]),
    }
}

fn core(e: &gep_core::CoreError) -> String {
    use gep_core::CoreError as E;
    match e {
        E::Io { path, source } => {
            if source.kind() == std::io::ErrorKind::NotFound {
                tf("err.file_missing", &[("path", path)])
            } else {
                tf(
                    "err.file_unreadable",
                    &[("path", path), ("action", &"read"), ("message", source)],
                )
            }
        }
        E::UnknownBuiltin {
            kind,
            id,
            available,
        } => tf(
            "err.unknown_builtin",
            &[("kind", kind), ("id", id), ("available", available)],
        ),
        other => tf("err.other", &[("detail", other)]),
    }
}
