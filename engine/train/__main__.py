"""`python -m engine.train`: the command that reproduces the bundled models, which lives
in engine/reproduce.py (it runs the quality meter too, which sits above the training code)."""

import runpy

if __name__ == "__main__":  # not when a module walk (the packaging test) imports it
    runpy.run_module("engine.reproduce", run_name="__main__", alter_sys=True)
