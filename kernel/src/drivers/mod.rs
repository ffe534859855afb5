//! Device drivers: virtio transports ([`mmio`] on `microvm` and
//! Firecracker, [`pci`] on `pc`/`q35`) below the devices ([`virtio_9p`])
//! below the subsystems that use them (the VFS's 9P client).
//!
//! The transports and the split virtqueue are the `virtio-drivers` crate's
//! (rcore-os, 0.13, no default features), not our own: it builds for
//! `x86_64-unknown-none` on this toolchain; it has legacy and modern MMIO,
//! modern PCI with capabilities and a `VirtQueue` that fits one request in
//! flight; its `Hal` is small here (contiguous frames through the direct
//! map, sharing is a translation: no IOMMU); and its vsock and console
//! devices are the next channels' transports. Its cost: about 55 KiB of
//! kernel image (190 -> 245 KiB, with this module and the self-check) and
//! its own unsafe code, audited upstream, behind a safe API except for
//! `VirtQueue::add`/`pop_used` and the MMIO constructor, which only
//! `arch::virtio` calls. Its own 9P device is not used: it spins on the
//! used ring for as long as a request takes and copies through whatever
//! buffers it is handed; ours sleeps in `hlt` and owns its DMA buffers.
//! The `volatile` crate would only have replaced `arch::phys`'s MMIO
//! helpers, which `virtio-drivers` (through `safe-mmio`) does not need.
//!
//! Everything here is safe code.

pub mod mmio;
pub mod pci;
pub mod virtio_9p;
pub mod virtio_console;

use alloc::vec::Vec;
use spin::Mutex;
use virtio_drivers::transport::{DeviceType, SomeTransport, Transport};

use virtio_9p::Virtio9p;

/// A virtio device found by a transport probe, not yet driven.
pub struct Found {
    pub transport: SomeTransport<'static>,
    /// The I/O APIC pin its interrupt arrives on, when it has been routed.
    pub irq: Option<u8>,
}

/// The 9P devices the probe brought up, until the file system takes them.
static NINE_P: Mutex<Vec<Virtio9p>> = Mutex::new(Vec::new());

/// Finds the virtio devices: those the command line names
/// (`virtio_mmio.device=`, `microvm` and Firecracker) or, when it names
/// none, those on PCI bus 0 (`pc`, `q35`). Drives the ones lamina knows.
pub fn probe(cmdline: &[u8]) {
    // Under TCG every first-run instruction costs about a microsecond of
    // translation: a machine without virtio-MMIO devices pays only for a
    // look-up the boot has already run, never for the full parse.
    let found = if lamina_boot::cmdline_value(cmdline, mmio::CMDLINE_KEY).is_some() {
        mmio::probe(cmdline)
    } else {
        pci::probe()
    };
    for device in found {
        match device.transport.device_type() {
            DeviceType::_9P => match Virtio9p::new(device.transport, device.irq) {
                Ok(nine_p) => {
                    crate::log!("virtio: 9p device, mount tag {:?}", nine_p.mount_tag());
                    NINE_P.lock().push(nine_p);
                }
                Err(err) => crate::log!("virtio: 9p device not usable: {err}"),
            },
            DeviceType::Console => {
                match virtio_console::VirtioConsole::new(device.transport, device.irq) {
                    Ok(console) => crate::channel::attach(console),
                    Err(err) => crate::log!("virtio: console device not usable: {err}"),
                }
            }
            other => crate::log!("virtio: {other:?} device left alone"),
        }
    }
}

/// Hands over the 9P device whose mount tag is `tag`, once.
pub fn take_9p(tag: &str) -> Option<Virtio9p> {
    let mut devices = NINE_P.lock();
    let at = devices.iter().position(|d| d.mount_tag() == tag)?;
    Some(devices.remove(at))
}

/// `selftest=virtio-9p`: the version handshake on every 9P device found.
pub fn selftest_9p() {
    let mut devices = NINE_P.lock();
    if devices.is_empty() {
        crate::log!("virtio-9p selftest: no 9p device found");
    }
    for device in devices.iter_mut() {
        virtio_9p::selftest(device);
    }
}
