"""Training: the loop every family's trainer runs in, data sets, and the reproduction script.

    python -m engine.train vae --preset digits

A family provides a Trainer (one optimizer step at a time); `run_training` drives it on
the training lane, with pause/resume/stop at step boundaries, live metrics and sample
grids, and checkpoints written atomically, so Stop always leaves a loadable model.
"""
