"""The Latent Lab's Explore tab: one module per tool (gui/explore/*_page.py)."""

from gui.explore.tab import ExploreTab, Tool

__all__ = ["ExploreTab", "Tool"]
