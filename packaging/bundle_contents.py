"""What the bundle must carry beyond what PyInstaller finds by following imports.

PyInstaller sees `import x` statements (anywhere in a module, functions included). It
does not see modules imported by name at run time, our data files or a library's own
(opened by path), or the package metadata that version checks read. Those are listed
here, read by the spec, and held to the app by tests/test_packaging.py: a new runner
module, resource folder, library data file or metadata lookup that is not covered here
fails a test, not a user's double-click.
"""

from __future__ import annotations

APP_NAME = "LatentStudio"  # the folder under dist/ and the windowed executable
CLI_NAME = "latentstudio-cli"  # the console executable beside it (Windows needs both)

# Packages whose every submodule is collected, because they are imported by name:
# - engine: the registry imports engine.models.<family>.runners with importlib;
# - gui: small, and Explore's pages are picked by tool;
# - diffusers and transformers resolve `from x import Name` through lazy modules, and
#   diffusers loads a pipeline's parts by class name (transformers' CLIP for SD). Not
#   only our own imports go through them: peft, imported by diffusers' LoRA loader,
#   names transformers classes of many model families (Bloom…), so all of transformers;
# - spandrel and peft: architectures and LoRA layers found through registries.
COLLECT_SUBMODULES = (
    "engine",
    "gui",
    "diffusers",
    "transformers",
    "spandrel",
    "peft",
)

# Packages whose shared libraries are loaded by path, not imported: torchvision 0.29's
# `_C_stable.so` (its operators, which spandrel's and transformers' imports need) is
# opened with torch.ops.load_library, so analysis never sees it.
DYNAMIC_LIBS = ("torchvision",)

# Packages that open their own data files by path (`Path(__file__).parent / name`) or
# through importlib.resources: analysis collects their code, not those files, so the spec
# adds them (collect_data_files). kernels, which transformers imports for its hub-kernel
# integration, reads _internals/python_depends.json at import: without it nothing that
# imports diffusers.loaders.peft (every Stable Diffusion pipeline) starts.
DATA_PACKAGES = ("kernels",)

# Resource folders (under resources/) the app reads at run time. Screenshots are the
# README's, not the app's.
RESOURCE_FOLDERS = ("models", "datasets", "clip-tokenizer", "sd-configs")
RESOURCE_FILES = ("icon.png",)

# Distributions whose metadata is read at run time: ours (each image records the app's
# version), and the libraries diffusers, transformers and accelerate check for by
# version before they use them. Their own dependencies come along (recursive).
METADATA = (
    "latent-studio",
    "diffusers",
    "transformers",
    "accelerate",
    "peft",
    "torch",
    "torchvision",
    "safetensors",
    "huggingface-hub",
    "tokenizers",
    "spandrel",
    "numpy",
    "pillow",
)

# Large packages the app never imports, kept out of the bundle.
EXCLUDES = (
    "tkinter",
    "matplotlib",
    "IPython",
    "pytest",
    "hypothesis",
    "torch.utils.tensorboard",
    "tensorboard",
    "triton",
    # The engine on a cluster is for `pip install .[cluster]`: the bundle runs on this
    # computer and stays as small as it was (see OPTIONAL_IMPORTERS).
    "ray",
)

# Excluded packages that one folder of the app imports anyway, because they belong to an
# optional extra: that folder says how to install them when they are missing (the
# bundle's engine/cluster answers --cluster with "needs Ray: pip install …").
OPTIONAL_IMPORTERS = {"ray": "engine/cluster"}


def datas(root: str) -> list[tuple[str, str]]:
    """(source, destination) pairs for PyInstaller's `datas`, from the repository root."""
    pairs = [(f"{root}/resources/{name}", f"resources/{name}") for name in RESOURCE_FOLDERS]
    pairs += [(f"{root}/resources/{name}", "resources") for name in RESOURCE_FILES]
    return pairs
