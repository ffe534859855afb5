//! Reading results out of program output, serial consoles and kernel logs.

use std::collections::BTreeMap;

/// Prefix the Linux guest's /init puts before every result line, so the lines
/// stand out from whatever the kernel prints on the same serial port.
pub const LINUX_RESULT_MARKER: &str = "@@ ";

/// One `name value unit` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub value: f64,
    pub unit: String,
}

/// Every `name value unit` line in `text`, by name. With a marker, only lines
/// that start with it count (after any carriage return from a serial port).
/// A name seen twice keeps its last value.
pub fn results(text: &str, marker: Option<&str>) -> BTreeMap<String, Measurement> {
    let mut found = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        let line = match marker {
            Some(marker) => match line.find(marker) {
                // A serial line may carry junk before the marker (a kernel
                // message cut short by the workload's output).
                Some(at) => &line[at + marker.len()..],
                None => continue,
            },
            None => line,
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, value, unit] = fields[..] else {
            continue;
        };
        let name_ok = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if let (true, Ok(value)) = (name_ok, value.parse::<f64>()) {
            if value.is_finite() {
                found.insert(
                    name.to_string(),
                    Measurement {
                        value,
                        unit: unit.to_string(),
                    },
                );
            }
        }
    }
    found
}

/// lamina's `-v` log line `boot: entry to user mode in <N> us (<C> cycles)`:
/// the microseconds from kernel entry to the first user instruction.
pub fn lamina_boot_us(log: &str) -> Option<f64> {
    const PREFIX: &str = "boot: entry to user mode in ";
    log.lines().find_map(|line| {
        let rest = &line[line.find(PREFIX)? + PREFIX.len()..];
        let mut words = rest.split_whitespace();
        let number: f64 = words.next()?.parse().ok()?;
        match words.next()? {
            "ns" => Some(number / 1000.0),
            "us" | "µs" => Some(number),
            "ms" => Some(number * 1000.0),
            _ => None,
        }
    })
}

/// The system calls lamina's `-v` log says it answered with ENOSYS (`syscall:
/// fork (57) is not implemented: ENOSYS`), as `fork (57)`, in log order.
pub fn lamina_enosys(log: &str) -> Vec<String> {
    const PREFIX: &str = "syscall: ";
    const SUFFIX: &str = " is not implemented";
    log.lines()
        .filter_map(|line| {
            let rest = &line[line.find(PREFIX)? + PREFIX.len()..];
            Some(rest[..rest.find(SUFFIX)?].to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serial output of the Linux guest running `syscall 10000` under TCG,
    /// recorded with the kernel's console at its default level so that kernel
    /// noise is mixed in, including a message cut by the workload's output.
    const LINUX_SERIAL: &str = "\
Probing EDD (edd=off to disable)... ok\r
[    0.000000] Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2\r
[    0.000000] Command line: console=ttyS0 quiet loglevel=0 panic=-1 -- /bench/syscall 10000\r
[    0.812345] clocksource: tsc: mask: 0xffffffffffffffff max_cycles: 0x257a3c3232d, max_idle_ns: 440795236725 ns\r
[    1.265443] Run /init as init process\r
@@ linux_kernel_to_init 1.265443 s\r
[    1.301000] virtio_mmio: unknown parameter 'x' ignored\r
@@ syscall_getppid 812.4 ns/call\r
[    1.4@@ status 0 code\r
syscall_getppid 1 should_not_count\r
[    1.428073] ACPI: PM: Preparing to enter system sleep state S5\r
[    1.428707] reboot: Power down\r
";

    #[test]
    fn marked_lines_only_from_a_noisy_serial_console() {
        let found = results(LINUX_SERIAL, Some(LINUX_RESULT_MARKER));
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(
            found["syscall_getppid"],
            Measurement {
                value: 812.4,
                unit: "ns/call".into()
            }
        );
        assert_eq!(found["linux_kernel_to_init"].value, 1.265443);
        assert_eq!(found["status"].value, 0.0);
    }

    #[test]
    fn unmarked_program_output() {
        let found = results(
            "pagefault_anon 2443.5 ns/page\nnot a result\nx nan y\nhello 1 line\n",
            None,
        );
        assert_eq!(
            found.keys().collect::<Vec<_>>(),
            ["hello", "pagefault_anon"]
        );
        assert_eq!(found["pagefault_anon"].unit, "ns/page");
    }

    #[test]
    fn lamina_boot_line() {
        let log = " INFO QEMU connected to the console\n\
                   memory: 256660 of 256716 KiB free; smep true smap true\n\
                   time: TSC at 2600634 kHz\n\
                   boot: entry to user mode in 8020 us (20858324 cycles)\n";
        assert_eq!(lamina_boot_us(log), Some(8020.0));
        assert_eq!(
            lamina_boot_us("boot: entry to user mode in 2 ms"),
            Some(2000.0)
        );
        assert_eq!(lamina_boot_us("no such line"), None);
    }

    #[test]
    fn lamina_enosys_lines() {
        let log = " INFO the console is connected\n\
                   syscall: sched_setaffinity (203) is not implemented: ENOSYS\n\
                   syscall: fork (57) is not implemented: ENOSYS\n\
                   fork: fork: Function not implemented\n\
                   boot: entry to user mode in 20662 us (53639690 cycles)\n";
        assert_eq!(lamina_enosys(log), ["sched_setaffinity (203)", "fork (57)"]);
        assert!(lamina_enosys("fork: fork: Function not implemented").is_empty());
    }
}
