"""Keep eager PyTorch inference from paying page faults on every call.

Eager PyTorch allocates each activation anew on every forward pass. glibc serves blocks
above its mmap threshold (128 KiB at start) with fresh ``mmap`` pages, which the kernel
zero-fills on first touch, and unmaps them on free, so a fresh process pays that for every
large activation of every call. glibc raises the threshold by itself only after freeing an
mmapped block larger than it, which training does and inference may never do: the same
EfficientNet-Lite1 ran 25 img/s in a fresh process and 60–111 img/s in the process that
had trained it (docs/benchmarks.md); with the thresholds below, 86 img/s from the start.

``tune()`` sets both thresholds (mmap: serve blocks up to 256 MiB from the heap; trim:
keep up to 256 MiB of freed heap for reuse) once per process. The cost: a process keeps
its peak heap instead of returning it at once. Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
THRESHOLD_BYTES = 256 * 1024 * 1024

log = logging.getLogger("autolearn.serving")
_lock = threading.Lock()
_done: list[bool] = []


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") else None


def tune() -> bool:
    """Set the thresholds (first call only); whether glibc took them."""
    with _lock:
        if _done:
            return _done[0]
        libc = _libc()
        ok = bool(
            libc is not None
            and libc.mallopt(M_MMAP_THRESHOLD, THRESHOLD_BYTES)
            and libc.mallopt(M_TRIM_THRESHOLD, THRESHOLD_BYTES)
        )
        if not ok:
            log.debug("mallopt unavailable: eager inference keeps the allocator's defaults")
        _done.append(ok)
        return ok
