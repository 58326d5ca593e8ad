"""One lock for building torch modules, shared by every lane.

diffusers loads weights with accelerate's `init_empty_weights`, which patches
`torch.nn.Module.register_parameter` for the whole process while a pipeline is built:
a module constructed meanwhile on another thread (a VAE on the interactive lane, a model
on the training lane) would get empty "meta" parameters. Whoever builds or loads a model
holds this lock; running models that exist already needs no lock.
"""

from __future__ import annotations

import threading

building_models = threading.RLock()
