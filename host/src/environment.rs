//! The environment a workload starts with, as docker gives a container's:
//! `PATH` (docker's default), `HOSTNAME`, `TERM=xterm` with a terminal,
//! then `--env-file` lines and `-e` values in order (each replacing a
//! variable of the same name where it stands, else appended), and `HOME`
//! last unless set (the user's home from the root's /etc/passwd, else /).

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// Docker's `PATH` for a Linux container.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What the defaults depend on.
pub struct Defaults<'a> {
    pub hostname: &'a str,
    pub home: &'a str,
    /// lamina's stdin and stdout are a terminal (docker's `-t`).
    pub terminal: bool,
}

/// Where `-e KEY` and a bare `KEY` line of an env file find their value.
pub type HostLookup<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// One `-e` value: `KEY=VALUE` as it is, `KEY` with the host's value
/// (None when the host has no such variable: docker then passes nothing).
pub fn env_arg(entry: &OsString, host: HostLookup<'_>) -> Result<Option<Vec<u8>>, String> {
    let bytes = entry.as_bytes();
    let shown = entry.to_string_lossy();
    if bytes.contains(&0) {
        return Err(format!("invalid --env '{shown}': contains a NUL byte"));
    }
    match bytes.iter().position(|&b| b == b'=') {
        Some(0) => Err(format!("invalid --env '{shown}': the name is empty")),
        Some(_) => Ok(Some(bytes.to_vec())),
        None => Ok(from_host(&shown, host)),
    }
}

fn from_host(name: &str, host: HostLookup<'_>) -> Option<Vec<u8>> {
    let value = host(name)?.into_vec();
    // A host value with a NUL byte cannot exist (the OS's environment is
    // C strings), so the result is a valid entry.
    let mut entry = format!("{name}=").into_bytes();
    entry.extend_from_slice(&value);
    Some(entry)
}

/// docker's env-file format (`opts.ParseEnvFile`): one `KEY=VALUE` per
/// line, taken verbatim (no quotes, no expansion); `#` comment lines and
/// blank lines skipped; a line `KEY` alone takes the host's value.
pub fn parse_env_file(
    text: &str,
    file: &str,
    host: HostLookup<'_>,
) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    for (number, raw) in text.lines().enumerate() {
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = match line.split_once('=') {
            Some((name, value)) => (name.trim_start(), Some(value)),
            None => (line.trim_end(), None),
        };
        let bad = |why: &str| format!("--env-file {file}: line {}: {why}", number + 1);
        if name.is_empty() {
            return Err(bad("no variable name"));
        }
        if name.contains(char::is_whitespace) {
            return Err(bad(&format!("variable '{name}' contains whitespace")));
        }
        if line.contains('\0') {
            return Err(bad("contains a NUL byte"));
        }
        match value {
            Some(value) => out.push(format!("{name}={value}").into_bytes()),
            None => out.extend(from_host(name, host)),
        }
    }
    Ok(out)
}

fn name_of(entry: &[u8]) -> &[u8] {
    entry.split(|&b| b == b'=').next().unwrap_or(entry)
}

/// The workload's environment: the defaults, then `entries` (env files'
/// then `-e`'s, in order), then HOME if still unset.
pub fn container_env(defaults: &Defaults<'_>, entries: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut env = vec![
        format!("PATH={DEFAULT_PATH}").into_bytes(),
        format!("HOSTNAME={}", defaults.hostname).into_bytes(),
    ];
    if defaults.terminal {
        env.push(b"TERM=xterm".to_vec());
    }
    for entry in entries {
        match env.iter().position(|e| name_of(e) == name_of(&entry)) {
            Some(at) => env[at] = entry,
            None => env.push(entry),
        }
    }
    if !env.iter().any(|e| name_of(e) == b"HOME") {
        env.push(format!("HOME={}", defaults.home).into_bytes());
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str) -> Option<OsString> {
        match name {
            "FROM_HOST" => Some("host value".into()),
            _ => None,
        }
    }

    fn text(env: &[Vec<u8>]) -> Vec<String> {
        env.iter()
            .map(|e| String::from_utf8_lossy(e).into_owned())
            .collect()
    }

    const DEFAULTS: Defaults<'static> = Defaults {
        hostname: "box",
        home: "/root",
        terminal: false,
    };

    #[test]
    fn defaults_as_docker() {
        assert_eq!(
            text(&container_env(&DEFAULTS, vec![])),
            [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOSTNAME=box",
                "HOME=/root"
            ]
        );
        let terminal = Defaults {
            terminal: true,
            ..DEFAULTS
        };
        assert!(text(&container_env(&terminal, vec![])).contains(&"TERM=xterm".to_string()));
    }

    #[test]
    fn entries_replace_in_place_or_append() {
        let env = container_env(
            &DEFAULTS,
            vec![
                b"A=1".to_vec(),
                b"PATH=/bin".to_vec(),
                b"A=2".to_vec(),
                b"HOME=/h".to_vec(),
            ],
        );
        assert_eq!(text(&env), ["PATH=/bin", "HOSTNAME=box", "A=2", "HOME=/h"]);
    }

    #[test]
    fn env_args() {
        assert_eq!(env_arg(&"A=b".into(), &host), Ok(Some(b"A=b".to_vec())));
        assert_eq!(env_arg(&"A=".into(), &host), Ok(Some(b"A=".to_vec())));
        assert_eq!(env_arg(&"A=b=c".into(), &host), Ok(Some(b"A=b=c".to_vec())));
        assert_eq!(
            env_arg(&"FROM_HOST".into(), &host),
            Ok(Some(b"FROM_HOST=host value".to_vec()))
        );
        assert_eq!(env_arg(&"UNSET".into(), &host), Ok(None));
        assert!(env_arg(&"=b".into(), &host).unwrap_err().contains("empty"));
        assert!(env_arg(&"A=\0".into(), &host).unwrap_err().contains("NUL"));
    }

    #[test]
    fn env_files() {
        let file = "# comment\n\nA=1\n  B= spaced value \nFROM_HOST\nUNSET\nC=\"quoted\"\n";
        assert_eq!(
            text(&parse_env_file(file, "f", &host).unwrap()),
            [
                "A=1",
                "B= spaced value ",
                "FROM_HOST=host value",
                "C=\"quoted\""
            ]
        );
        assert!(parse_env_file("B =1\n", "f", &host)
            .unwrap_err()
            .contains("'B ' contains whitespace"));
        assert_eq!(
            parse_env_file("=x\n", "f", &host).unwrap_err(),
            "--env-file f: line 1: no variable name"
        );
        assert!(parse_env_file("A B=1\n", "f", &host)
            .unwrap_err()
            .contains("contains whitespace"));
    }
}
