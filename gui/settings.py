"""User settings, persisted with QSettings in an INI file under the platform config dir."""

from __future__ import annotations

import json
import os
from pathlib import Path

import platformdirs
from PySide6.QtCore import QSettings

from engine.api.catalogue import user_data_dir
from engine.batch.wildcards import wildcard_folder

APP_NAME = "Latent Studio"
CONFIG_DIR_ENV = "LATENTSTUDIO_CONFIG_DIR"  # tests and benchmarks point this at a temp dir


def default_config_dir() -> Path:
    override = os.environ.get(CONFIG_DIR_ENV)
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME))


def default_output_dir() -> Path:
    return Path(platformdirs.user_pictures_dir()) / APP_NAME


class AppSettings:
    def __init__(self, config_dir: Path | None = None) -> None:
        path = (config_dir or default_config_dir()) / "settings.ini"
        self._qs = QSettings(str(path), QSettings.Format.IniFormat)

    @property
    def path(self) -> Path:
        return Path(self._qs.fileName())

    @property
    def output_dir(self) -> Path:
        # The default is looked up (platformdirs stats folders) only when none is set:
        # the window reads this on the GUI thread.
        value = self._qs.value("output_dir")
        return Path(str(value)) if value else default_output_dir()

    @output_dir.setter
    def output_dir(self, value: Path) -> None:
        self._qs.setValue("output_dir", str(value))

    @property
    def models_dirs(self) -> list[Path]:
        value = self._qs.value("models_dirs", [])
        if isinstance(value, str):  # QSettings returns a lone entry as a plain string
            value = [value]
        return [Path(v) for v in value or [] if v]

    @models_dirs.setter
    def models_dirs(self, value: list[Path]) -> None:
        self._qs.setValue("models_dirs", [str(v) for v in value])

    @property
    def source_folders(self) -> list[Path]:
        """Other tools' folders the gallery lists too (read only)."""
        value = self._qs.value("gallery/source_folders", [])
        if isinstance(value, str):  # QSettings returns a lone entry as a plain string
            value = [value]
        return [Path(v) for v in value or [] if v]

    @source_folders.setter
    def source_folders(self, value: list[Path]) -> None:
        self._qs.setValue("gallery/source_folders", [str(v) for v in value])

    @property
    def wildcards_dir(self) -> Path:
        """Where `__name__` finds name.txt: the app's own wildcards folder by default,
        which `main.py batch` reads too (its --wildcards names another)."""
        default = wildcard_folder(user_data_dir())
        return Path(str(self._qs.value("wildcards_dir", str(default))))

    @wildcards_dir.setter
    def wildcards_dir(self, value: Path) -> None:
        self._qs.setValue("wildcards_dir", str(value))

    @property
    def device(self) -> str:
        return str(self._qs.value("device", "auto"))

    @device.setter
    def device(self, value: str) -> None:
        self._qs.setValue("device", value)

    @property
    def cluster_address(self) -> str:
        """Settings → Engine: "" for this computer, else a Ray cluster's address."""
        return str(self._qs.value("cluster_address", ""))

    @cluster_address.setter
    def cluster_address(self, value: str) -> None:
        self._qs.setValue("cluster_address", value.strip())

    @property
    def precision(self) -> str:
        """Stable Diffusion's numbers: "auto" (bf16 where it is faster) or "fp32"."""
        return str(self._qs.value("precision", "auto"))

    @precision.setter
    def precision(self, value: str) -> None:
        self._qs.setValue("precision", value)

    @property
    def offload(self) -> str:
        """CUDA: "auto" (from free memory), "none", "model" or "sequential"."""
        return str(self._qs.value("offload", "auto"))

    @offload.setter
    def offload(self, value: str) -> None:
        self._qs.setValue("offload", value)

    @property
    def compile_unet(self) -> bool:
        """The CPU: Stable Diffusion's UNet by torch.compile (off: minutes of warm-up)."""
        return str(self._qs.value("compile_unet", "false")).lower() == "true"

    @compile_unet.setter
    def compile_unet(self, value: bool) -> None:
        self._qs.setValue("compile_unet", "true" if value else "false")

    @property
    def last_model(self) -> str:
        return str(self._qs.value("last_model", ""))

    @last_model.setter
    def last_model(self, value: str) -> None:
        self._qs.setValue("last_model", value)

    def panel_state(self, name: str) -> dict:
        """A panel's controls as they were when the app last closed ({} the first time)."""
        try:
            state = json.loads(str(self._qs.value(f"panels/{name}", "{}")))
        except ValueError:
            return {}
        return state if isinstance(state, dict) else {}

    def set_panel_state(self, name: str, state: dict) -> None:
        self._qs.setValue(f"panels/{name}", json.dumps(state))

    def ui_value(self, key: str) -> object:
        """A piece of the window's state (geometry bytes, mode, last image), or None."""
        return self._qs.value(key)

    def set_ui_value(self, key: str, value: object) -> None:
        self._qs.setValue(key, value)

    def sync(self) -> None:
        self._qs.sync()
