"""The child process in which PDFium reads an upload: stamp.py's only use of PDFium.

A hostile PDF (an image that inflates to gigabytes, millions of drawing operators, forms nested
to draw each other 2^30 times) can keep PDFium busy for minutes and take gigabytes it never gives
back. Here it can only exhaust a process that lives for one upload: its address space and CPU
time are capped with setrlimit before PDFium is even loaded, and the parent kills it after a
wall-clock timeout.

Run as `python -I -m identity.pdfium_render MEMORY_BYTES CPU_SECONDS MAX_PX count|render` with
the PDF on stdin. It writes one JSON line: {"pages": null} if PDFium cannot open the file, else
{"pages": n}, with page 1's box, rotation, size, render scale and grey image geometry when asked
to render; the image's rows follow the line as raw bytes. Only the standard library and
pypdfium2 are imported: the child starts in a fraction of a second.
"""

import json
import resource
import sys


def limit(memory: int, cpu: int) -> None:
    """Cap this process's address space and CPU seconds; write no core file when they run out."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    # Past the soft limit the kernel sends SIGXCPU (which ends the process), a second later SIGKILL.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def read(data: bytes, max_px: int, render: bool) -> tuple[dict[str, object], bytes]:
    """Return PDFium's view of data (see the module docstring) and page 1's grey pixels."""
    import pypdfium2  # loaded under the limits: it is what they are for

    try:
        document = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError:
        return {"pages": None}, b""
    try:
        head: dict[str, object] = {"pages": len(document)}
        if not render or not len(document):
            return head, b""
        page = document[0]
        width, height = page.get_size()
        head |= {"box": list(page.get_bbox()), "rotate": page.get_rotation()}
        head |= {"size": [width, height]}
        if width < 1 or height < 1:
            return head, b""
        # The pixel budget: the longer side is at most max_px pixels, whatever the page's size.
        scale = min(1.0, max_px / max(width, height))
        bitmap = page.render(
            scale=scale, grayscale=True, force_bitmap_format=pypdfium2.raw.FPDFBitmap_Gray
        )
        head |= {"scale": scale, "image": [bitmap.width, bitmap.height, bitmap.stride]}
        return head, bytes(bitmap.buffer)
    finally:
        document.close()


def main(argv: list[str]) -> int:
    memory, cpu, max_px, mode = int(argv[0]), int(argv[1]), int(argv[2]), argv[3]
    limit(memory, cpu)
    head, pixels = read(sys.stdin.buffer.read(), max_px, mode == "render")
    sys.stdout.buffer.write(json.dumps(head).encode() + b"\n" + pixels)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
