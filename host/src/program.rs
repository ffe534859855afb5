//! PROGRAM and its arguments, checked and packed into the boot bundle.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use lamina_proto::bundle::Bundle;

use crate::error::{os_reason, UserError};

/// The guest's limit on argv, envp and the auxiliary vector together.
const ARG_IMAGE_MAX: usize = 2 << 20;
/// The auxiliary vector, AT_RANDOM bytes, the platform string, alignment.
const ARG_IMAGE_SLACK: usize = 1024;

/// Where PROGRAM comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A host path to a static ELF, which travels in the bundle.
    Host,
    /// A path in the guest's root file system (`--rootfs`), looked up and
    /// loaded by the guest; nothing is read on the host.
    GuestRoot,
}

/// Checks PROGRAM (a host file when `source` is [`Source::Host`]) and
/// encodes the bundle: `argv[0]` is PROGRAM as typed, `exe_path` the
/// canonical host path (or PROGRAM for the guest to find), `cwd` the
/// workload's working directory.
pub fn bundle(
    program: &OsStr,
    args: &[OsString],
    env: &[Vec<u8>],
    cwd: &[u8],
    (mounts, files): (&[Vec<u8>], &[(String, String)]),
    source: Source,
) -> Result<Vec<u8>, UserError> {
    check_strings(program, args)?;
    if source == Source::GuestRoot {
        check_arg_size(program, args, env, program.len())?;
        return Ok(encode(
            program,
            args,
            env,
            (program.as_bytes(), cwd, mounts, files),
            &[],
        ));
    }
    let shown = Path::new(program).display().to_string();
    let not_executable = |reason: String| UserError::ProgramNotExecutable {
        program: shown.clone(),
        reason,
    };
    let path = Path::new(program);
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(UserError::ProgramNotFound(shown))
        }
        Err(err) => return Err(not_executable(os_reason(&err))),
    };
    if metadata.is_dir() {
        return Err(not_executable("is a directory".into()));
    }
    if !metadata.is_file() {
        return Err(not_executable("not a regular file".into()));
    }
    let image = std::fs::read(path).map_err(|err| not_executable(os_reason(&err)))?;
    lamina_elf::Elf::parse(&image).map_err(|err| not_executable(err.to_string()))?;
    let exe_path = std::fs::canonicalize(path).map_err(|err| not_executable(os_reason(&err)))?;

    check_arg_size(program, args, env, exe_path.as_os_str().len())
        .map_err(|_| not_executable("argument list too long".into()))?;
    Ok(encode(
        program,
        args,
        env,
        (exe_path.as_os_str().as_bytes(), cwd, mounts, files),
        &image,
    ))
}

fn check_strings(program: &OsStr, args: &[OsString]) -> Result<(), UserError> {
    for arg in std::iter::once(program).chain(args.iter().map(OsString::as_os_str)) {
        if arg.as_bytes().contains(&0) {
            return Err(UserError::Usage(format!(
                "argument '{}' contains a NUL byte",
                arg.to_string_lossy()
            )));
        }
    }
    Ok(())
}

/// What the guest puts on the new process's stack (Linux: a quarter of
/// the 8 MiB stack limit): the strings, their pointers, and room for the
/// auxiliary vector. Checked here, as exec would, so the user gets the
/// shell's answer instead of a guest that cannot start.
fn check_arg_size(
    program: &OsStr,
    args: &[OsString],
    env: &[Vec<u8>],
    exe_len: usize,
) -> Result<(), UserError> {
    let strings: usize = std::iter::once(program)
        .chain(args.iter().map(OsString::as_os_str))
        .map(|arg| arg.len() + 1)
        .chain(env.iter().map(|var| var.len() + 1))
        .sum();
    let pointers = (args.len() + env.len() + 3) * 8;
    if strings + pointers + exe_len + ARG_IMAGE_SLACK > ARG_IMAGE_MAX {
        return Err(UserError::ProgramNotExecutable {
            program: Path::new(program).display().to_string(),
            reason: "argument list too long".into(),
        });
    }
    Ok(())
}

/// Where the workload runs: exe_path, cwd, mounts, files.
type Place<'a> = (&'a [u8], &'a [u8], &'a [Vec<u8>], &'a [(String, String)]);

/// `place` is (exe_path, cwd, mounts, files).
fn encode(
    program: &OsStr,
    args: &[OsString],
    env: &[Vec<u8>],
    (exe_path, cwd, mounts, files): Place<'_>,
    image: &[u8],
) -> Vec<u8> {
    let argv = std::iter::once(program.as_bytes())
        .chain(args.iter().map(|arg| arg.as_bytes()))
        .collect();
    Bundle {
        exe_path,
        cwd,
        argv,
        envp: env.iter().map(Vec::as_slice).collect(),
        mounts: mounts.iter().map(Vec::as_slice).collect(),
        files: files
            .iter()
            .map(|(path, content)| (path.as_bytes(), content.as_bytes()))
            .collect(),
        program: image,
    }
    .encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_list_too_long_is_126() {
        let long = vec![OsString::from("x".repeat(4096)); 600];
        let err = bundle(
            OsStr::new("/bin/busybox"),
            &long,
            &[],
            b"/",
            (&[], &[]),
            Source::Host,
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), 126);
        assert!(err.to_string().ends_with("argument list too long"), "{err}");
        assert!(bundle(
            OsStr::new("/bin/busybox"),
            &long[..400],
            &[],
            b"/",
            (&[], &[]),
            Source::Host
        )
        .is_ok());
    }

    #[test]
    fn missing_program_is_127() {
        let err = bundle(
            OsStr::new("./surely/not/here"),
            &[],
            &[],
            b"/",
            (&[], &[]),
            Source::Host,
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), 127);
        assert_eq!(err.to_string(), "./surely/not/here: no such file");
    }

    #[test]
    fn directory_is_126() {
        let dir = tempfile::tempdir().unwrap();
        let err = bundle(
            dir.path().as_os_str(),
            &[],
            &[],
            b"/",
            (&[], &[]),
            Source::Host,
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), 126);
        assert!(err.to_string().ends_with(": is a directory"));
    }

    #[test]
    fn not_elf_is_126_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("script.sh");
        std::fs::write(&script, b"#!/bin/sh\necho hi\n").unwrap();
        let err = bundle(script.as_os_str(), &[], &[], b"/", (&[], &[]), Source::Host).unwrap_err();
        assert_eq!(err.exit_code(), 126);
        assert!(err.to_string().ends_with(": not an ELF file"), "{err}");
    }

    #[test]
    fn dynamic_executable_is_126() {
        // The test binary itself is dynamically linked on a -gnu host.
        let me = std::env::current_exe().unwrap();
        let Err(err) = bundle(me.as_os_str(), &[], &[], b"/", (&[], &[]), Source::Host) else {
            return; // a static test binary (musl host): nothing to check
        };
        assert_eq!(err.exit_code(), 126);
        assert!(err.to_string().contains("dynamically linked"), "{err}");
        assert!(err.to_string().contains("--rootfs"), "{err}");
    }

    #[test]
    fn a_guest_program_is_not_read_on_the_host() {
        let bytes = bundle(
            OsStr::new("ls"),
            &["-la".into()],
            &[b"PATH=/bin".to_vec()],
            b"/work",
            (
                &[b"tmpfs - /scratch".to_vec()],
                &[("/etc/hostname".into(), "box\n".into())],
            ),
            Source::GuestRoot,
        )
        .unwrap();
        let decoded = Bundle::decode(&bytes).unwrap();
        assert_eq!(decoded.exe_path, b"ls");
        assert_eq!(decoded.cwd, b"/work");
        assert_eq!(decoded.argv, [&b"ls"[..], b"-la"]);
        assert!(decoded.program.is_empty());
        assert_eq!(decoded.mounts, [&b"tmpfs - /scratch"[..]]);
        assert_eq!(decoded.files, [(&b"/etc/hostname"[..], &b"box\n"[..])]);
    }
}
