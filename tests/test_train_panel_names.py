"""The Train tab names a new model after its data folder: any folder the user can pick
(a very long name, odd characters) makes a model file name the training accepts, inside
the models folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.api.catalogue import user_models_dir
from engine.local_engine import LocalCatalogue
from gui.train_panel import TrainPanel


@pytest.mark.parametrize(
    "folder_name", ["é" * 200, "x" * 250, "tab\there\nnewline", ".hidden", "plain faces"]
)
def test_any_picked_folder_gives_a_valid_model_file_inside_the_models_folder(
    qtbot, tmp_path, folder_name
):
    panel = TrainPanel(catalogue=LocalCatalogue())
    qtbot.addWidget(panel)
    panel.set_folder(str(tmp_path / folder_name))
    request = panel.build_request()
    request.validate()  # what Start does before anything runs; raises BadInput if not
    assert Path(request.output).parent == user_models_dir()
