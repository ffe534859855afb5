/*
 * The QEMU floor for boot benchmarks: the smallest PVH kernel, which leaves
 * QEMU through isa-debug-exit on its first instructions. Booting it measures
 * QEMU's own start-up and teardown, with no guest work at all.
 *
 * Build: gcc -E -x assembler-with-cpp pvh-exit.S | as --32 -o pvh-exit.o
 *        ld -m elf_i386 -T pvh-exit.ld -o pvh-exit.elf pvh-exit.o
 * Run:   qemu-system-x86_64 -M microvm -accel tcg -nodefaults -no-user-config \
 *          -nographic -no-reboot -kernel pvh-exit.elf \
 *          -device isa-debug-exit,iobase=0xf4,iosize=0x04
 *
 * QEMU exits with status (value << 1) | 1. The value is not 0, so the
 * resulting status (33) cannot be mistaken for QEMU's own failure (1).
 */

/* Xen public/elfnote.h: the 32-bit physical entry point, used by PVH. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define ISA_DEBUG_EXIT_PORT 0xf4
#define EXIT_VALUE 0x10

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
1:  hlt
    jmp 1b
