"""How the command line's names become files: a model's name in the app's model folders,
the prompt's <lora:…> tags and embedding names. Imports nothing of the commands (engine.cli),
so the batch reader and the GUI's batch dialog can use it without the job runner."""

from __future__ import annotations

from pathlib import Path


def saved_models_dirs() -> list[Path]:
    """The model folders the app's Settings list (its settings.ini, read with Qt's own
    reader: QSettings' list format is Qt's)."""
    import os

    import platformdirs
    from PySide6.QtCore import QSettings

    override = os.environ.get("LATENTSTUDIO_CONFIG_DIR")
    folder = Path(override) if override else Path(platformdirs.user_config_dir("Latent Studio"))
    value = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat).value(
        "models_dirs", []
    )
    if isinstance(value, str):
        value = [value]
    return [Path(v) for v in value or [] if v]


def resolve_model_name(model: str) -> str:
    """A checkpoint file, folder, or the name of one in the app's model folders."""
    if Path(model).expanduser().exists() or "/" in model or "\\" in model:
        return model
    from engine.library.scan import checkpoints, scan_library

    for entry in checkpoints(scan_library(saved_models_dirs())):
        if model in (entry.name, entry.path.name):
            return str(entry.path)
    return model  # not found: the job says the model does not exist


def library_entries(folders: list[str]) -> list:
    """The model files of `folders` (or of the app's model folders), as scanned."""
    from engine.library.scan import scan_library

    where = [Path(f) for f in folders] if folders else saved_models_dirs()
    return scan_library(where) if where else []


def resolve_prompt_refs(prompt: str, folders: list[str]) -> tuple[tuple, tuple[str, ...]]:
    """The prompt's <lora:...> tags and embedding names as files, looked up in `folders`
    (or the app's model folders)."""
    from engine.library.prompt_refs import embeddings_named, resolve_lora_tags

    entries = library_entries(folders)
    return resolve_lora_tags(prompt, entries), embeddings_named(prompt, entries)
