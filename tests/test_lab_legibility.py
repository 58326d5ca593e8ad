"""What the Lab shows can be read: help texts without combining marks (Qt draws a
combining circumflex on the line above its letter), a loss-plot legend that leaves the
curves uncovered."""

from __future__ import annotations

import unicodedata

from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QApplication, QCheckBox, QLabel, QWidget

from engine.local_engine import LocalCatalogue
from gui.explore import Tool
from gui.lab_panel import LabPanel
from gui.loss_plot import LossPlot

GAN_TERMS = ("d_loss", "g_loss", "d_real", "d_fake")


def combining(text: str) -> list[str]:
    return [c for c in text if unicodedata.combining(c)]


def test_no_text_the_lab_shows_has_a_combining_mark(qtbot):
    lab = LabPanel(catalogue=LocalCatalogue())
    qtbot.addWidget(lab)
    seen = 0
    for index in range(lab.model_box.count()):  # each family's about text
        lab.model_box.setCurrentIndex(index)
        for tool in Tool:  # every Explore page's help and captions
            lab.explore.select_tool(tool)
        for widget in lab.findChildren(QWidget):
            texts = [widget.toolTip(), widget.text() if isinstance(widget, QLabel) else ""]
            for text in texts:
                assert not combining(text), f"{type(widget).__name__}: {text}"
                seen += bool(text)
    assert seen > 50  # the texts were there to be read


def _rect_in(widget: QWidget, ancestor: QWidget) -> QRect:
    return QRect(widget.mapTo(ancestor, QPoint(0, 0)), widget.size())


def test_the_loss_plot_legend_leaves_the_data_area_free(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(420, 260)
    plot.show()
    for step in range(1, 60):
        plot.add(step, {term: 2.0 / step + i for i, term in enumerate(GAN_TERMS)})
    plot.redraw()
    QApplication.processEvents()
    view = plot.plot  # the PlotWidget: its view box is where the curves are drawn
    box = view.mapFromScene(view.getViewBox().sceneBoundingRect()).boundingRect()
    data_area = QRect(view.viewport().mapTo(plot, box.topLeft()), box.size())
    legends = [
        _rect_in(box, plot)
        for box in plot.findChildren(QCheckBox)
        if box.text() in GAN_TERMS and box.isVisible()
    ]
    floating = getattr(view.getPlotItem(), "legend", None)  # pyqtgraph's own, if any
    if floating is not None and floating.isVisible():
        scene = view.mapFromScene(floating.sceneBoundingRect()).boundingRect()
        legends.append(QRect(view.viewport().mapTo(plot, scene.topLeft()), scene.size()))
    assert legends and data_area.height() > 80
    for rect in legends:
        assert not rect.intersects(data_area), (rect, data_area)
    assert sorted(box.text() for box in plot.findChildren(QCheckBox)) == sorted(GAN_TERMS)


def test_unchecking_a_term_hides_its_curve_and_the_axis_fits_the_others(qtbot):
    """A GMM's log-likelihood in the hundreds beside bits/dim near 5: with both shown the
    axis reaches the hundreds; with the log-likelihood hidden it fits bits/dim alone."""
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(420, 260)
    plot.show()
    for step in range(1, 40):
        plot.add(step, {"bits_per_dim": 5.0 + 1.0 / step, "log_likelihood": 900.0 - step})
    plot.redraw()
    QApplication.processEvents()  # laid out: a later resize would refit on its own
    plot.grab()  # painted, as on screen: the view box has fitted both curves
    view = plot.plot.getViewBox()
    assert view.viewRange()[1][1] > 800
    box = plot.findChild(QCheckBox, "legend-log_likelihood")
    box.setChecked(False)
    plot.grab()
    low, high = view.viewRange()[1]
    assert 4.0 < low < 5.1 and 6.0 <= high < 7.0  # bits/dim's 5.03 … 6.0, a margin
    box.setChecked(True)
    plot.grab()
    assert view.viewRange()[1][1] > 800
