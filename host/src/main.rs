//! `lamina`: run one static Linux x86_64 binary in a lamina utility VM.
//!
//! Exit codes: see [`error`].
#![deny(unsafe_code)]

mod accel;
mod cli;
mod console;
mod control;
mod environment;
mod error;
mod identity;
mod kernel_image;
mod policy;
mod program;
mod proxy;
mod qemu;
mod run;
mod service;
mod stdin;
mod supervisor;
mod terminal;
mod trace;
mod tsc;
mod vmm;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::EXIT_LAUNCH_FAILED;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return ExitCode::from(usage_error(&err)),
    };
    let Command::Run(args) = cli.command;
    init_logging(args.verbose);
    match run::run(args) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("lamina: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

/// Prints clap's help and version as they are; a usage error becomes one
/// `lamina:` line and exit code 125, like lamina's other failures.
fn usage_error(err: &clap::Error) -> u8 {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                EXIT_LAUNCH_FAILED
            } else {
                0
            }
        }
        _ => {
            eprintln!("lamina: {}; see 'lamina run --help'", one_line(err));
            EXIT_LAUNCH_FAILED
        }
    }
}

/// Clap's message on one line: the first line without its `error: `
/// prefix, joined with a list it introduces (missing arguments) and the
/// possible values.
fn one_line(err: &clap::Error) -> String {
    let rendered = err.render().to_string();
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid arguments");
    let mut text = first.strip_prefix("error: ").unwrap_or(first).to_string();
    for line in lines {
        if line.starts_with("Usage:") || line.starts_with("tip:") || line.starts_with("For more") {
            continue;
        }
        text.push(' ');
        text.push_str(line);
    }
    text
}

/// Diagnostics go to stderr: lamina's decisions at info with `-v`, only
/// warnings otherwise.
fn init_logging(verbose: bool) {
    let level = if verbose {
        tracing::Level::INFO
    } else {
        tracing::Level::WARN
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_max_level(level)
        .with_target(false)
        .without_time()
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(args: &[&str]) -> String {
        one_line(&Cli::try_parse_from(args).unwrap_err())
    }

    #[test]
    fn usage_errors_are_one_line() {
        assert_eq!(
            message(&["lamina", "run"]),
            "the following required arguments were not provided: <PROGRAM>..."
        );
        assert_eq!(
            message(&["lamina", "run", "--accel", "x", "p"]),
            "invalid value 'x' for '--accel <ACCEL>' [possible values: auto, kvm, tcg]"
        );
        assert_eq!(
            message(&["lamina", "run", "--publish", "80", "p"]),
            "invalid value '80' for '--publish <[HOSTIP:]HOSTPORT:GUESTPORT>': '80': expected [HOSTIP:]HOSTPORT:GUESTPORT"
        );
    }
}
