/*
 * The VMM floor for boot benchmarks: the smallest PVH kernel, which powers
 * the VM off on its first instructions. Booting it measures the VMM's own
 * start-up and teardown, with no guest work at all.
 *
 * It tries, in order, each VMM's way out; the first one the VMM has ends
 * the VM, so the later writes never run there:
 *   QEMU              isa-debug-exit at 0xf4 (with -device isa-debug-exit)
 *   Cloud Hypervisor  the ACPI shutdown device at 0x600: SLP_TYP S5 | SLP_EN
 *   Firecracker       i8042 CPU reset (0xfe to port 0x64), its shutdown
 *
 * Build: gcc -E -x assembler-with-cpp pvh-exit.S | as --32 -o pvh-exit.o
 *        ld -m elf_i386 -T pvh-exit.ld -o pvh-exit.elf pvh-exit.o
 * Run:   qemu-system-x86_64 -M microvm -accel tcg -nodefaults -no-user-config \
 *          -nographic -no-reboot -kernel pvh-exit.elf \
 *          -device isa-debug-exit,iobase=0xf4,iosize=0x04
 *
 * QEMU exits with status (value << 1) | 1. The value is not 0, so the
 * resulting status (33) cannot be mistaken for QEMU's own failure (1).
 *
 * Cloud Hypervisor and Firecracker load ELF64 kernels only (linux-loader
 * rejects ELF32), so for them (scripts/bench-vmm) the same source is built
 * as ELF64; the code stays 32-bit (.code32):
 *        gcc -E -x assembler-with-cpp pvh-exit.S | as --64 -o pvh-exit64.o
 *        ld -m elf_x86_64 -T pvh-exit.ld -o pvh-exit64.elf pvh-exit64.o
 * Both exit with status 0 on this power-off:
 *        cloud-hypervisor --kernel pvh-exit64.elf --cpus boot=1 \
 *          --memory size=256M --console off --serial null
 *        firecracker --no-api --config-file cfg.json --log-path fc.log
 *   (cfg.json: {"boot-source": {"kernel_image_path": "pvh-exit64.elf"},
 *               "drives": [],
 *               "machine-config": {"vcpu_count": 1, "mem_size_mib": 256}})
 */

/* Xen public/elfnote.h: the 32-bit physical entry point, used by PVH. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define ISA_DEBUG_EXIT_PORT 0xf4
#define EXIT_VALUE 0x10
/* Cloud Hypervisor devices/src/acpi.rs: AcpiShutdownDevice, sleep control. */
#define ACPI_SLEEP_CONTROL_PORT 0x600
#define ACPI_S5_SLEEP (5 << 2 | 1 << 5)   /* SLP_TYP = S5, SLP_EN */
/* i8042 command port; 0xfe pulses the CPU reset line. */
#define I8042_COMMAND_PORT 0x64
#define I8042_RESET_CPU 0xfe

    .section .note.Xen, "a", @note
    .p2align 2
    .long 4                         /* namesz: "Xen\0" */
    .long 4                         /* descsz: one 32-bit address */
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .p2align 2
    .long pvh_start

    .text
    .code32
    .globl pvh_start
pvh_start:
    /* PVH entry: 32-bit protected mode, paging off, ebx -> hvm_start_info. */
    mov $ISA_DEBUG_EXIT_PORT, %dx
    mov $EXIT_VALUE, %eax
    outl %eax, %dx
    mov $ACPI_SLEEP_CONTROL_PORT, %dx
    mov $ACPI_S5_SLEEP, %al
    outb %al, %dx
    mov $I8042_COMMAND_PORT, %dx
    mov $I8042_RESET_CPU, %al
    outb %al, %dx
1:  hlt
    jmp 1b
