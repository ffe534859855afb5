//! Differential tests of programs: unmodified static binaries (C with both
//! libcs, static and static-PIE, Rust, busybox) run natively and in lamina;
//! stdout and exit status must be identical.

use super::*;

#[test]
fn hello_in_every_build() {
    let w = workloads();
    on_targets(Depth::Smoke, |target| {
        CBuild::ALL
            .iter()
            .try_for_each(|&build| assert_same_as_native(target, &w.c("hello", build), &[], &[]))
    });
}

#[test]
fn exit_codes() {
    let w = workloads();
    on_targets(Depth::Smoke, |target| {
        ["0", "1", "42", "255"].iter().try_for_each(|code| {
            assert_same_as_native(target, &w.c("exitcode", CBuild::MuslStatic), &[code], &[])
        })
    });
}

#[test]
fn exit_codes_glibc_static_pie() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        ["0", "42", "255"].iter().try_for_each(|code| {
            assert_same_as_native(
                target,
                &w.c("exitcode", CBuild::GlibcStaticPie),
                &[code],
                &[],
            )
        })
    });
}

#[test]
fn wild_store_is_sigsegv() {
    let w = workloads();
    on_targets(Depth::Smoke, |target| {
        [CBuild::MuslStatic, CBuild::GlibcStatic]
            .iter()
            .try_for_each(|&build| {
                // What the native run gives (harness_native_signal_status).
                let binary = w.c("wildstore", build);
                let run = LaminaRun::new(target, &binary, &[]).run();
                if run.status == EXIT_SIGSEGV && run.stdout == "before\n" {
                    Ok(())
                } else {
                    Err(format!(
                        "expected \"before\" then status {EXIT_SIGSEGV}\n{}",
                        describe("lamina", &run)
                    ))
                }
            })
    });
}

#[test]
fn argv_and_env() {
    let w = workloads();
    let many: Vec<String> = (0..200).map(|i| format!("arg-{i:03}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let odd_args: &[&str] = &[
        "with spaces",
        "",
        "-x",
        "--flag=value",
        "--",
        "-",
        "tab\there",
        "quote\"s and 'single'",
        "unicode-\u{e9}\u{4e16}",
        "FOO",
        "EMPTY",
        "SPACED",
        "UNSET_VAR",
        "PATH",
    ];
    let env: &[(&str, &str)] = &[
        ("FOO", "bar"),
        ("EMPTY", ""),
        ("SPACED", "a b  c"),
        ("EQUALS", "x=y=z"),
    ];
    on_targets(Depth::Representative, |target| {
        for build in CBuild::ALL {
            let binary = w.c("args", build);
            assert_same_as_native(target, &binary, odd_args, env)?;
        }
        let binary = w.c("args", CBuild::MuslStatic);
        assert_same_as_native(target, &binary, &[], &[])?;
        assert_same_as_native(target, &binary, &many, &[("FOO", "many")])
    });
}

#[test]
fn bigalloc() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        CBuild::ALL
            .iter()
            .try_for_each(|&build| assert_same_as_native(target, &w.c("bigalloc", build), &[], &[]))
    });
}

#[test]
fn many_mappings_and_splits() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        assert_same_as_native(target, &w.c("mmapmany", CBuild::MuslStatic), &[], &[])
    });
}

/// The program's own pages are paged in from its image on demand: under
/// MADV_DONTNEED, munmap + mmap and mremap they behave as Linux's private
/// file mapping of the executable does (every build: PIE and not, both libcs).
#[test]
fn image_pages_behave_as_a_private_file_mapping() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        CBuild::ALL.iter().try_for_each(|&build| {
            assert_same_as_native(target, &w.c("imagepages", build), &[], &[])
        })
    });
}

#[test]
fn floating_point() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        CBuild::ALL
            .iter()
            .try_for_each(|&build| assert_same_as_native(target, &w.c("float", build), &[], &[]))
    });
}

#[test]
fn bad_pointers_are_efault() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        CBuild::ALL.iter().try_for_each(|&build| {
            let binary = w.c("efault", build);
            assert_same_as_native(target, &binary, &[], &[])?;
            // Guard against a native run that did not produce EFAULT either.
            let native = run_native(&binary, &[], &[]);
            let faults = native.stdout.matches("Bad address").count();
            if faults >= 10 && native.stdout.ends_with("still alive\n") {
                Ok(())
            } else {
                Err(format!(
                    "native efault output is not as expected\n{}",
                    describe("native", &native)
                ))
            }
        })
    });
}

#[test]
fn startup_syscalls() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        CBuild::ALL
            .iter()
            .try_for_each(|&build| assert_same_as_native(target, &w.c("syscalls", build), &[], &[]))
    });
}

#[test]
fn rust_std_hello() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        assert_same_as_native(target, &w.rust_hello, &[], &[])?;
        assert_same_as_native(
            target,
            &w.rust_hello,
            &["one", "two words", "-h", ""],
            &[("RUST_BACKTRACE", "0"), ("GREETING", "hi there")],
        )
    });
}

#[test]
fn busybox_echo() {
    let w = workloads();
    on_targets(Depth::Representative, |target| {
        assert_same_as_native(target, &w.busybox, &["echo", "hi"], &[])
    });
}

/// The workload reads lamina's stdin: text, many lines, binary bytes, and
/// end of file; output and status must match the same pipeline natively.
#[test]
fn stdin_is_forwarded() {
    let w = workloads();
    let binary: Vec<u8> = (0..200_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let lines: String = (0..2000).map(|i| format!("line {i}\n")).collect();
    let cases: Vec<(&[&str], Vec<u8>)> = vec![
        (&["cat"], b"hello stdin\n".to_vec()),
        (&["wc", "-l"], lines.into_bytes()),
        (&["md5sum"], binary),
        (&["cat"], Vec::new()),
        (
            &["sh", "-c", "read a; read b; echo \"$b $a\"; exit 4"],
            b"one\ntwo\n".to_vec(),
        ),
    ];
    let pollstdin = w.c("pollstdin", CBuild::MuslStatic);
    // The console input path differs per VMM (QEMU's chardev socket, Cloud
    // Hypervisor's serial socket, Firecracker's stdin pipe).
    let cases: Vec<(&Path, &[&str], Vec<u8>)> = cases
        .into_iter()
        .map(|(args, input)| (w.busybox.as_path(), args, input))
        .chain([(pollstdin.as_path(), &[][..], b"ready\n".to_vec())])
        .collect();
    on_every_vmm(Depth::Representative, |target| {
        cases.iter().try_for_each(|(binary, args, input)| {
            let mut native = Command::new(binary);
            native.arg0(binary).args(*args).env_clear();
            let native = run_bounded_with_input(
                &mut native,
                Some(input.clone()),
                NATIVE_WALL_LIMIT,
                "native run",
            );
            let lamina = LaminaRun::new(target, binary, args).run_with_input(input);
            if native.stdout == lamina.stdout && native.status == lamina.status {
                return Ok(());
            }
            Err(format!(
                "{} {args:?} with {} bytes of stdin differs on {target}\n{}\n{}",
                binary.display(),
                input.len(),
                describe("native", &native),
                describe("lamina", &lamina)
            ))
        })
    });
}

#[test]
fn busybox_applets() {
    let w = workloads();
    let cases: &[&[&str]] = &[
        &["sh", "-c", "echo $((6*7)); exit 3"],
        &[
            "sh",
            "-c",
            "for i in 1 2 3; do echo \"line $i\"; done; x=abc; echo ${#x} ${x%c}",
        ],
        &["true"],
        &["false"],
        &["seq", "1", "100"],
        // Bulk output, in 16-byte bursts through the UART FIFO.
        &["seq", "1", "50000"],
        &["printf", "%s-%05d-%x|%c\\n", "word", "42", "255", "z"],
        &["echo", "-n", "no newline"],
        &["expr", "6", "*", "7"],
        &["basename", "/usr/lib/x86_64-linux-gnu/libc.so.6"],
        &["env"],
        &["uname", "-s", "-m"],
    ];
    on_targets(Depth::Full, |target| {
        cases.iter().try_for_each(|args| {
            assert_same_as_native(target, &w.busybox, args, &[("HOME", "/"), ("FOO", "bar")])
        })
    });
}
