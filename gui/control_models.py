"""Which library entries are ControlNets, T2I-Adapters and IP-Adapters, for Create's
control section pickers (issue 22).

Until the library names these kinds itself, they are told apart here by the file's name
and folder (A1111's `models/ControlNet`, `extensions/sd-webui-controlnet/models`,
ComfyUI's `models/controlnet`, `models/t2i_adapter`, `models/ipadapter`): one function,
`control_kind`, to change when the scan says. A file made for another family than the
chosen checkpoint's is listed greyed, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from engine.library.detect import ModelKind, SdFamily
from engine.library.scan import LibraryEntry

CONTROLNET, T2I_ADAPTER, IP_ADAPTER = "controlnet", "t2i-adapter", "ip-adapter"
KIND_TITLES = {CONTROLNET: "ControlNet", T2I_ADAPTER: "T2I-Adapter", IP_ADAPTER: "IP-Adapter"}
# Short: a combo is as wide as its placeholder. The tooltip says more.
NO_CONTROL_MODEL = "None in the folders"
NO_IP_MODEL = "None in the folders"
EMPTY_TIP = "No such file in the model folders: put it there, or choose one with …"
_NOT_CONTROL = (
    ModelKind.LORA,
    ModelKind.VAE,
    ModelKind.EMBEDDING,
    ModelKind.UPSCALER,
    ModelKind.ANNOTATOR,  # ControlNetPreprocessor/openpose/… is no ControlNet
)
# Words that name a file's kind (in the file's or a folder's name, any case).
_IP_WORDS = ("ip-adapter", "ip_adapter", "ipadapter")
_T2I_WORDS = ("t2i-adapter", "t2i_adapter", "t2iadapter", "t2iadapter_", "t2i")
_CONTROL_WORDS = ("controlnet", "control_", "control-", "controllllite", "control")


def control_kind(entry: LibraryEntry) -> str | None:
    """CONTROLNET, T2I_ADAPTER or IP_ADAPTER for such a file, None for any other."""
    scanned = getattr(entry.kind, "value", "")
    if scanned in KIND_TITLES:  # the library knows the kind: trust it
        return scanned
    if entry.kind in _NOT_CONTROL:
        return None
    return kind_by_name(entry.path)


def kind_by_name(path: Path) -> str | None:
    names = [part.lower() for part in (*path.parent.parts[-2:], path.name)]
    for words, kind in ((_IP_WORDS, IP_ADAPTER), (_T2I_WORDS, T2I_ADAPTER)):
        if any(word in name for name in names for word in words):
            return kind
    if any(word in name for name in names for word in _CONTROL_WORDS):
        return CONTROLNET
    return None


@dataclass(frozen=True)
class Choice:
    title: str
    path: str
    reason: str = ""  # why it cannot be chosen now ("" when it can)


def control_choices(
    entries: list[LibraryEntry], kinds: tuple[str, ...], family: SdFamily | None
) -> list[Choice]:
    """The entries of those kinds; greyed with the reason when made for another family
    than the checkpoint's (when both are known)."""
    choices = []
    for entry in entries:
        kind = control_kind(entry)
        if kind not in kinds:
            continue
        made_for = entry.family
        title = " · ".join([entry.name, KIND_TITLES[kind], *([made_for.title] if made_for else [])])
        reason = ""
        if made_for is not None and family is not None and made_for is not family:
            reason = f"made for {made_for.title}; the checkpoint is {family.title}"
        choices.append(Choice(title, str(entry.path), reason))
    return choices


def fill_choices(box: QComboBox, choices: list[Choice], empty: str) -> None:
    """The choices (signals blocked, the current one kept when it is still there)."""
    current = box.currentData()
    box.blockSignals(True)
    box.clear()
    for choice in choices:
        box.addItem(choice.title + (f" — {choice.reason}" if choice.reason else ""), choice.path)
        index = box.count() - 1
        box.setItemData(index, choice.reason or choice.path, Qt.ItemDataRole.ToolTipRole)
        if choice.reason:
            box.model().item(index).setEnabled(False)
    box.setPlaceholderText(empty if not choices else "Choose…")
    box.setToolTip(EMPTY_TIP if not choices else "")
    box.setCurrentIndex(box.findData(current) if current else -1)
    box.blockSignals(False)


def add_path(box: QComboBox, path: str) -> int:
    """A model chosen outside the folders (opened, or from a recipe), or a recipe's model
    named as A1111 names it (the file's name without its suffix, found in the list)."""
    if not path:
        return -1
    if Path(path).exists():
        box.addItem(Path(path).name, path)
        box.setItemData(box.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
        return box.count() - 1
    stem = Path(path).stem.lower()
    for index in range(box.count()):
        if Path(str(box.itemData(index))).stem.lower() == stem:
            return index
    return -1
