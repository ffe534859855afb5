//! virtio-MMIO: the devices the VMM announces on the kernel command line
//! (`virtio_mmio.device=<size>@<addr>:<irq>`; QEMU's `microvm` appends one
//! per device when it runs with `acpi=off`, Firecracker always does).

use alloc::vec::Vec;
use virtio_drivers::transport::SomeTransport;

use super::Found;
use crate::arch::{irq, virtio};

/// The command-line key of an announced device.
pub const CMDLINE_KEY: &[u8] = b"virtio_mmio.device";

/// The transports behind every announced device, their interrupt lines
/// routed (an ISA-style edge: the device raises its line when it has used
/// a buffer and drops it when the driver acknowledges).
pub fn probe(cmdline: &[u8]) -> Vec<Found> {
    let mut found = Vec::new();
    for device in lamina_boot::virtio_mmio_devices(cmdline) {
        match virtio::mmio_transport(device.paddr, device.size) {
            Ok(transport) => {
                let irq = u8::try_from(device.irq)
                    .ok()
                    .filter(|&pin| irq::route_edge_line(pin));
                crate::log!(
                    "virtio-mmio: {:#x} bytes at {:#x}, irq {}",
                    device.size,
                    device.paddr,
                    device.irq
                );
                if irq.is_none() {
                    crate::log!(
                        "virtio-mmio at {:#x}: irq {} not routable, polling",
                        device.paddr,
                        device.irq
                    );
                }
                found.push(Found {
                    transport: SomeTransport::from(transport),
                    irq,
                });
            }
            // An empty slot (device id 0) or no virtio device at all.
            Err(err) => crate::log!("virtio-mmio at {:#x}: {}", device.paddr, err),
        }
    }
    found
}
