//! `--help` in the chosen language: the derive structs' doc comments are the English help;
//! for Chinese, every command's description and every flag's help is replaced from the
//! message catalogue (`cmd.<path>`, `arg.<path>.<flag>` or `arg.<flag>`), with Chinese
//! headings.

use crate::i18n::{has, text};
use clap::{Command, CommandFactory};
use gep_report::Lang;

/// The command line definition in `lang`.
pub fn command(lang: Lang) -> Command {
    let mut cmd = crate::Cli::command();
    if lang == Lang::En {
        return cmd;
    }
    // Built first, so that the generated `--help`/`--version` flags, the `help` subcommand
    // and the global flags exist in every subcommand and can be reworded too.
    cmd.build();
    localize(cmd, "gep", lang)
}

/// The catalogue key of a flag's help in the command at `path`.
pub fn arg_key(path: &str, id: &str) -> Option<String> {
    [format!("arg.{path}.{id}"), format!("arg.{id}")]
        .into_iter()
        .find(|k| has(k))
}

/// The catalogue key of a command's description (the generated `help` subcommands share one).
pub fn about_key(path: &str) -> String {
    if path.ends_with(".help") {
        "cmd.gep.help".to_string()
    } else {
        format!("cmd.{path}")
    }
}

fn localize(mut cmd: Command, path: &str, lang: Lang) -> Command {
    let about_key = about_key(path);
    if has(&about_key) {
        let about = text(&about_key, lang);
        cmd = cmd.about(about).long_about(None::<&str>);
    }
    let template = format!(
        "{{before-help}}{{about-with-newline}}\n{} {{usage}}\n\n{{all-args}}{{after-help}}",
        text("help.usage", lang)
    );
    cmd = cmd
        .help_template(template)
        .subcommand_help_heading(text("help.commands", lang));
    let args: Vec<(clap::Id, bool)> = cmd
        .get_arguments()
        .map(|a| (a.get_id().clone(), a.is_positional()))
        .collect();
    for (id, positional) in args {
        let key = arg_key(path, id.as_str());
        let heading = if positional {
            text("help.arguments", lang)
        } else {
            text("help.options", lang)
        };
        cmd = cmd.mut_arg(id, |a| {
            let a = a.help_heading(heading);
            match &key {
                Some(k) => a.help(text(k, lang)).long_help(None::<&str>),
                None => a,
            }
        });
    }
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in subs {
        let sub_path = format!("{path}.{name}");
        // The `help` subcommand's own subcommands are stubs naming the commands (no text).
        if path.ends_with(".help") {
            continue;
        }
        cmd = cmd.mut_subcommand(&name, |s| localize(s, &sub_path, lang));
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command and flag has its Chinese help in the catalogue.
    #[test]
    fn every_command_and_flag_has_chinese_help() {
        let mut cmd = crate::Cli::command();
        cmd.build();
        let mut missing = Vec::new();
        fn walk(cmd: &Command, path: &str, missing: &mut Vec<String>) {
            if !has(&about_key(path)) {
                missing.push(format!("cmd.{path}"));
            }
            for a in cmd.get_arguments() {
                if arg_key(path, a.get_id().as_str()).is_none() {
                    missing.push(format!("arg.{path}.{}", a.get_id()));
                }
            }
            for s in cmd.get_subcommands().filter(|_| !path.ends_with(".help")) {
                walk(s, &format!("{path}.{}", s.get_name()), missing);
            }
        }
        walk(&cmd, "gep", &mut missing);
        assert!(missing.is_empty(), "no Chinese help for {missing:?}");
    }
}
