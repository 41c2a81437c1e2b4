"""Who wrote a marker, and whether that writer is still alive: the host name, the
pid and what makes a pid meaningful beside the host name (boot id, pid namespace)."""

from __future__ import annotations

import os
import time

from .. import layout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_NS: str | None = None


def namespace() -> str:
    """The kernel's boot id and the pid namespace of this process (containers on one
    machine, even with the host's name, differ)."""
    global _NS
    if _NS is None:
        parts = []
        try:
            with open("/proc/sys/kernel/random/boot_id") as f:
                parts.append(f.read().strip())
        except OSError:
            pass
        try:
            parts.append(str(os.stat("/proc/self/ns/pid").st_ino))
        except OSError:
            pass
        _NS = ":".join(parts)
    return _NS


def marker_info() -> dict[str, Any]:
    """What a writing marker records about its writer."""
    return {"host": layout.hostname(), "pid": os.getpid(), "time": time.time(),
            "ns": namespace()}


def same_process_space(info: dict[str, Any]) -> bool:
    """True when the pid in a marker can be checked here (same host and namespace)."""
    return (info.get("host") == layout.hostname() and isinstance(info.get("pid"), int)
            and info.get("ns", namespace()) == namespace())


def pid_alive(pid: int) -> bool:
    """True when a process ``pid`` runs on this machine (or may: not ours to signal)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True
