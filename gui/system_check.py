"""Before the window opens on Linux: are the system libraries Qt's X11 plugin needs there?

A minimal Linux install lacks some of them, and Qt's own message then names only
libxcb-cursor0 whatever is missing. `make run` calls this first: it asks the dynamic
linker (`ldd`) what the plugin cannot find and prints the one `apt-get install` line
that fixes it. Silent, and exit 0, when all is well or when it cannot tell.

    python -m gui.system_check
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

# The shared libraries Qt's xcb plugin links against, and the Debian/Ubuntu package of each.
DEBIAN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
}


def plugin_files() -> list[Path]:
    """Qt's xcb platform plugin and the library behind it, inside the PySide6 wheel."""
    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    candidates = [qt / "plugins" / "platforms" / "libqxcb.so", qt / "lib" / "libQt6XcbQpa.so.6"]
    return [p for p in candidates if p.is_file()]


def missing_libraries(ldd_output: str) -> list[str]:
    """The sonames `ldd` reports as "not found"."""
    missing = []
    for line in ldd_output.splitlines():
        name, _, rest = line.strip().partition(" => ")
        if "not found" in rest and name not in missing:
            missing.append(name)
    return missing


def install_line(missing: list[str]) -> str:
    packages = sorted({DEBIAN_PACKAGES.get(name, name) for name in missing})
    return "sudo apt-get install -y " + " ".join(packages)


def check() -> list[str]:
    if not sys.platform.startswith("linux") or shutil.which("ldd") is None:
        return []
    missing: list[str] = []
    for file in plugin_files():
        result = subprocess.run(["ldd", str(file)], capture_output=True, text=True, check=False)
        missing += [m for m in missing_libraries(result.stdout) if m not in missing]
    return missing


def main() -> int:
    missing = check()
    if not missing:
        return 0
    print(
        "Latent Studio's window needs system libraries this machine lacks: "
        f"{', '.join(missing)}.\nInstall them with:\n\n    {install_line(missing)}\n",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
