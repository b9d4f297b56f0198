//! `lessor generate man DIR` and `lessor generate completions SHELL` (hidden): the man pages
//! (`clap_mangen`) and shell completions (`clap_complete`) made from the command line's own
//! definition, so they cannot drift from it. Packagers run them at install time; the pages are
//! not kept in the repository (docs/operator-guide.md, "Installing").

use clap::{CommandFactory, Subcommand};
use clap_complete::Shell;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum GenerateCommand {
    /// Write a man page (section 1) for `lessor` and each of its commands into DIR:
    /// lessor.1, lessor-serve.1, lessor-leases-list.1, ...
    Man {
        /// The directory (created if missing), e.g. /usr/local/share/man/man1.
        dir: PathBuf,
    },
    /// Print the completion script for SHELL on standard output.
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
}

pub fn run(command: GenerateCommand) -> ExitCode {
    let result = match command {
        GenerateCommand::Man { dir } => man(&dir).map(|pages| {
            eprintln!("lessor generate: {pages} man page(s) in {}", dir.display());
        }),
        GenerateCommand::Completions { shell } => completions(shell, &mut std::io::stdout().lock()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lessor generate: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes every page into `dir`; returns how many.
pub fn man(dir: &Path) -> Result<usize, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let cmd = public();
    let pages = page_names(&cmd).len();
    clap_mangen::generate_to(cmd, dir)
        .map_err(|e| format!("cannot write the man pages into {}: {e}", dir.display()))?;
    Ok(pages)
}

/// The completion script for `shell`.
pub fn completions(shell: Shell, out: &mut dyn std::io::Write) -> Result<(), String> {
    let mut cmd = public();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "lessor", &mut buf);
    out.write_all(&buf)
        .map_err(|e| format!("cannot write the {shell} completions: {e}"))
}

/// The command line without its hidden commands (this one): `clap_complete` would offer them.
/// Only the top level has any; it has no arguments of its own but `--help` and `--version`.
fn public() -> clap::Command {
    let cmd = crate::Cli::command();
    let visible: Vec<clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect();
    let mut public = clap::Command::new("lessor")
        .version(env!("CARGO_PKG_VERSION"))
        .subcommands(visible)
        .subcommand_required(cmd.is_subcommand_required_set())
        .arg_required_else_help(cmd.is_arg_required_else_help_set());
    if let Some(about) = cmd.get_about() {
        public = public.about(about.clone());
    }
    public
}

/// The page names `clap_mangen` writes: one per command that is not hidden, its path joined by
/// `-` (`lessor-leases-list`); the `help` pseudo-command has none.
fn page_names(cmd: &clap::Command) -> Vec<String> {
    fn walk(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
        let name = match prefix {
            "" => cmd.get_name().to_string(),
            p => format!("{p}-{}", cmd.get_name()),
        };
        for sub in cmd.get_subcommands() {
            if !sub.is_hide_set() && sub.get_name() != "help" {
                walk(sub, &name, out);
            }
        }
        out.push(name);
    }
    let mut out = Vec::new();
    walk(cmd, "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_gets_a_man_page() {
        let dir = std::env::temp_dir().join(format!("lessor-man-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let count = man(&dir).unwrap();
        let expected = page_names(&public());
        assert_eq!(count, expected.len());
        // Nested commands too, and nothing hidden.
        for name in [
            "lessor",
            "lessor-serve",
            "lessor-leases-list",
            "lessor-perf-dora",
        ] {
            assert!(expected.iter().any(|e| e == name), "{name}: {expected:?}");
        }
        assert!(!expected.iter().any(|e| e.contains("generate")));
        let mut written: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        written.sort();
        let mut want: Vec<String> = expected.iter().map(|n| format!("{n}.1")).collect();
        want.sort();
        assert_eq!(written, want);
        let serve = std::fs::read_to_string(dir.join("lessor-serve.1")).unwrap();
        assert!(serve.starts_with(".ie \\n(.g .ds Aq"), "{serve}");
        assert!(serve.contains("\\-\\-config"), "{serve}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn completions_name_every_command() {
        // Every command below the top level, as (path of its parent, name).
        fn walk(cmd: &clap::Command, path: &[String], out: &mut Vec<(Vec<String>, String)>) {
            for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
                out.push((path.to_vec(), sub.get_name().to_string()));
                let mut below = path.to_vec();
                below.push(sub.get_name().to_string());
                walk(sub, &below, out);
            }
        }
        let mut commands = Vec::new();
        walk(&public(), &[], &mut commands);
        assert!(commands.len() >= 17, "{commands:?}");
        assert!(commands.contains(&(vec!["leases".into()], "list".into())));
        let script = |shell| {
            let mut out = Vec::new();
            completions(shell, &mut out).unwrap();
            String::from_utf8(out).unwrap()
        };
        let (bash, zsh, fish) = (script(Shell::Bash), script(Shell::Zsh), script(Shell::Fish));
        for (path, name) in &commands {
            // bash: `case "${cmd},${i}"` has a branch per command.
            let parent: String = std::iter::once("lessor".to_string())
                .chain(path.iter().map(|p| format!("__subcmd__{p}")))
                .collect();
            assert!(
                bash.contains(&format!("{parent},{name})")),
                "bash: {path:?} {name}"
            );
            // zsh: one `(NAME)` state per command; fish: `-a "NAME"` under its parent.
            assert!(zsh.contains(&format!("({name})")), "zsh: {path:?} {name}");
            assert!(
                fish.contains(&format!("-a \"{name}\"")),
                "fish: {path:?} {name}"
            );
        }
        for (shell, text) in [("bash", &bash), ("zsh", &zsh), ("fish", &fish)] {
            assert!(text.contains("--config"), "{shell}");
            assert!(
                !text.contains("generate"),
                "{shell}: offers the hidden command"
            );
        }
    }

    #[test]
    fn the_public_command_line_loses_nothing_but_hidden_commands() {
        let all = crate::Cli::command();
        let own: Vec<_> = all
            .get_arguments()
            .map(|a| a.get_id().to_string())
            .collect();
        assert!(own.is_empty(), "the top level has arguments now: {own:?}");
        let names = |c: &clap::Command| -> Vec<String> {
            c.get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(|s| s.get_name().to_string())
                .collect()
        };
        assert_eq!(names(&public()), names(&all));
        assert!(all.get_subcommands().any(|s| s.get_name() == "generate"));
    }
}
