"""View state that outlives any one widget: torch-free QObjects with change signals.

Widgets bind to these (and the main window routes engine events into them), so what the
user sees is held in one place: the jobs and their progress, the last result, and every
image not yet saved.
"""
