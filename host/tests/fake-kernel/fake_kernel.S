/*
 * A stand-in for the lamina kernel, for testing the host CLI alone: a PVH
 * ELF that speaks the console framing of lamina-proto on COM1 and leaves
 * QEMU through isa-debug-exit. It stays in 32-bit protected mode (the PVH
 * entry state) throughout. MODE, set with --defsym, picks the behaviour:
 *   0  a log line, "hello\n" on stdout, "oops\n" on stderr, exit status 7
 *   1  two log lines, then a kernel panic status
 *   2  a log line, then off without an exit status
 *   3  hang (for --timeout)
 *   4  ask for stdin (StdinWanted), echo stdin frames back as stdout
 *      frames; exit 0 at stdin EOF
 *   5  garbage frames between stdout frames, then signal 11
 *   6  out of memory
 */
#define COM1 0x3f8
#define COM1_LSR (COM1 + 5)
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20
#define DEBUG_EXIT 0xf4

    .section .note.Xen, "a", @note
    .p2align 2
    .long 4                 /* namesz */
    .long 4                 /* descsz */
    .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long _start

    .text
    .code32
    .globl _start
_start:
    mov $stack_top, %esp
.if MODE == 3
1:  hlt
    jmp 1b
.elseif MODE == 4
    call echo
.else
    mov $script, %esi
    mov $script_end, %ecx
    sub %esi, %ecx
    call send
.endif
    mov $DEBUG_EXIT, %dx
    mov $1, %eax
    outl %eax, %dx
2:  hlt
    jmp 2b

/* send: %ecx bytes from %esi to COM1 */
send:
    test %ecx, %ecx
    jz 9f
1:  mov $COM1_LSR, %dx
3:  inb %dx, %al
    test $LSR_THR_EMPTY, %al
    jz 3b
    lodsb
    mov $COM1, %dx
    outb %al, %dx
    loop 1b
9:  ret

/* recv: one byte from COM1 into %al */
recv:
    mov $COM1_LSR, %dx
1:  inb %dx, %al
    test $LSR_DATA_READY, %al
    jz 1b
    mov $COM1, %dx
    inb %dx, %al
    ret

/* putc: %al to COM1 */
putc:
    push %eax
    mov $COM1_LSR, %dx
1:  inb %dx, %al
    test $LSR_THR_EMPTY, %al
    jz 1b
    pop %eax
    mov $COM1, %dx
    outb %al, %dx
    ret

echo:
    mov $stdin_wanted, %esi
    mov $3, %ecx
    call send
1:  call recv               /* kind */
    mov %al, %bl
    call recv               /* len lo */
    movzbl %al, %ecx
    call recv               /* len hi */
    movzbl %al, %eax
    shl $8, %eax
    or %eax, %ecx
    cmp $2, %bl             /* StdinEof */
    je 5f
    mov $1, %al             /* a Stdout frame of the same length */
    call putc
    mov %cl, %al
    call putc
    mov %ch, %al
    call putc
    test %ecx, %ecx
    jz 1b
2:  call recv
    call putc
    loop 2b
    jmp 1b
5:  mov $exit0, %esi
    mov $3 + 2, %ecx
    call send
    ret

    .section .rodata
exit0: .byte 4, 2, 0, 0, 0
stdin_wanted: .byte 5, 0, 0

#define FRAME(kind, text) .byte kind, (9f - 8f), 0; 8: .ascii text; 9:
script:
.if MODE == 0
    FRAME(3, "fake kernel up")
    FRAME(1, "hello\n")
    FRAME(2, "oops\n")
    .byte 4, 2, 0, 0, 7
.elseif MODE == 1
    FRAME(3, "fake kernel up")
    FRAME(3, "panicked at fake.rs:1: on purpose")
    .byte 4, 2, 0, 3, 0
.elseif MODE == 2
    FRAME(3, "fake kernel going away")
.elseif MODE == 5
    .byte 0x7f, 2, 0, 1, 2
    FRAME(1, "one\n")
    .byte 1, 0xff, 0xff
    FRAME(1, "two\n")
    .byte 4, 1, 0, 9
    .byte 4, 2, 0, 1, 11
.elseif MODE == 6
    .byte 4, 2, 0, 2, 9
.endif
script_end:

    .bss
    .p2align 4
    .skip 4096
stack_top:
