"""The child process in which every upload is parsed: the server's process never parses one.

A hostile PDF can make qpdf or PDFium spend minutes or gigabytes: an object stream that
inflates to gigabytes before one object in it is read, an image that inflates when drawn,
millions of drawing operators, forms nested to draw each other 2^30 times. Here it can only
exhaust a process that lives for one upload: its address space and CPU time are capped with
setrlimit before pikepdf, PDFium or fpdf2 is loaded, and the parent kills it after a
wall-clock timeout.

Run as `python -I -m identity.documents.pdf_child MEMORY_BYTES CPU_SECONDS MAX_PX check|stamp`.
Stdin is one JSON line (the stamp's fields, or {}) and the PDF. Stdout is one JSON line,
identity.documents.stamp's answer, followed by the stamped PDF when there is one (see stamp.answer).
"""

import json
import os
import resource
import sys


def limit(memory: int, cpu: int) -> None:
    """Cap this process's address space and CPU seconds; write no core file when they run out."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    # Past the soft limit the kernel sends SIGXCPU (which ends the process), a second later SIGKILL.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def main(argv: list[str]) -> int:
    memory, cpu, max_px, mode = int(argv[0]), int(argv[1]), int(argv[2]), argv[3]
    limit(memory, cpu)
    from identity.documents import (
        stamp,  # loaded under the limits: its libraries are what they are for
    )

    # The answer goes to the original stdout; whatever a library prints, to stderr.
    answer = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    fields = json.loads(sys.stdin.buffer.readline())
    head, body = stamp.answer(mode, fields, sys.stdin.buffer.read(), max_px)
    with answer:
        answer.write(json.dumps(head).encode() + b"\n" + body)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
