"""The bundle's lists (packaging/bundle_contents.py) against what the app really does:
every module imported by name, every resource read, every package whose metadata is
looked up, every lazily resolved library class, every data file a library opens
itself. A new one the lists miss fails here, not in a user's double-click. Also: the
runtime hook, --quit-when-shown, the .desktop file. Building the bundle itself is `make
package` (slow; .ci/run builds it and runs its self-test with the network cut)."""

from __future__ import annotations

import ast
import configparser
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTENTS = runpy.run_path(str(ROOT / "packaging" / "bundle_contents.py"))
APP_SOURCES = [
    *sorted((ROOT / "engine").rglob("*.py")),
    *sorted((ROOT / "gui").rglob("*.py")),
    ROOT / "main.py",
]


def _calls(name: str):
    """(file, call) for every call of a function or method called `name` in the app."""
    for path in APP_SOURCES:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called == name:
                    yield path, node


def _collected(module: str) -> bool:
    return any(
        module == package or module.startswith(package + ".")
        for package in CONTENTS["COLLECT_SUBMODULES"]
    )


def test_every_module_imported_by_name_is_collected():
    found = list(_calls("import_module"))
    assert found, "the registry imports runner modules by name"
    for path, call in found:
        target = call.args[0]
        if isinstance(target, ast.Constant):
            prefix = str(target.value)
        elif isinstance(target, ast.JoinedStr):  # f"{MODELS_PACKAGE}.{family}.runners"
            prefix = _f_string_prefix(path, target)
        else:
            continue  # a variable: its values are checked where they are made
        assert _collected(prefix.rstrip(".")), (path.name, prefix)


def _f_string_prefix(path: Path, node: ast.JoinedStr) -> str:
    """The constant start of an f-string, module-level constants substituted."""
    constants = {
        target.id: stmt.value.value
        for stmt in ast.parse(path.read_text("utf-8")).body
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant)
        for target in stmt.targets
        if isinstance(target, ast.Name)
    }
    text = ""
    for part in node.values:
        if isinstance(part, ast.Constant):
            text += str(part.value)
        elif isinstance(part.value, ast.Name) and part.value.id in constants:
            text += constants[part.value.id]
        else:
            break
    return text


def test_every_runner_module_the_registry_finds_is_collected():
    from engine import registry

    families = {family for _task, family in registry.discover()}
    for family in families:
        assert _collected(f"engine.models.{family.value}.runners")


def test_every_resource_the_app_reads_is_bundled():
    bundled = set(CONTENTS["RESOURCE_FOLDERS"]) | set(CONTENTS["RESOURCE_FILES"])
    read = {
        str(call.args[0].value)
        for _path, call in _calls("resource")
        if call.args and isinstance(call.args[0], ast.Constant)
    }
    assert read, "engine/resources.py names the resources"
    assert read <= bundled, read - bundled
    for source, _target in CONTENTS["datas"](str(ROOT)):
        assert Path(source).exists(), source


def _is_metadata_lookup(call: ast.Call) -> bool:
    """importlib_metadata.version("x"), importlib.metadata.distribution("x")…"""
    return (
        bool(call.args)
        and isinstance(call.args[0], ast.Constant)
        and isinstance(call.func, ast.Attribute)
        and "metadata" in ast.unparse(call.func.value)
    )


def test_every_metadata_lookup_of_the_app_is_bundled():
    looked_up = {
        str(call.args[0].value)
        for name in ("version", "distribution", "metadata")
        for _path, call in _calls(name)
        if _is_metadata_lookup(call)
    }
    assert "latent-studio" in looked_up  # images record the app's version
    assert looked_up <= set(CONTENTS["METADATA"]), looked_up - set(CONTENTS["METADATA"])


def test_every_library_class_the_app_names_lazily_is_collected():
    """`from transformers import CLIPTextModel` resolves through a lazy module at run time:
    the module that defines the class must be collected, or the bundle fails there."""
    import importlib

    for library in ("transformers", "diffusers"):
        names = set()
        for path in APP_SOURCES:
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module == library:
                    names |= {alias.name for alias in node.names}
        module = importlib.import_module(library)
        for name in sorted(names):
            defined_in = getattr(module, name).__module__
            assert _collected(defined_in), f"{library}.{name} lives in {defined_in}"


def test_libraries_loaded_by_path_are_collected():
    """A shared library in a model library's own folder that is not a Python extension
    module is opened by path (torchvision's operators): analysis cannot see it."""
    import importlib
    import importlib.machinery

    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    for package in ("torch", "torchvision", "spandrel", "diffusers", "transformers", "peft",
                    "accelerate", "safetensors", "tokenizers"):  # fmt: skip
        folder = Path(importlib.import_module(package).__file__).parent
        loaded_by_path = [
            p.name
            for p in folder.iterdir()
            if p.suffix in (".so", ".dll", ".dylib") and not p.name.endswith(suffixes)
        ]
        if loaded_by_path:
            assert package in CONTENTS["DYNAMIC_LIBS"], (package, loaded_by_path)


# Run in a fresh interpreter: import what the bundle imports (every module of ours that
# collect_submodules would collect, every library the app imports, every library class it
# names lazily) with an audit hook recording each file opened under site-packages.
_RECORD_LIBRARY_READS = """
import importlib, json, os, pkgutil, site, sys
roots = tuple(os.path.join(p, "") for p in {*site.getsitepackages(), site.getusersitepackages()})
opened = set()
def record(event, args):
    if event == "open" and isinstance(args[0], (str, os.PathLike)):
        path = os.fsdecode(args[0])
        opened.update(os.path.relpath(path, r) for r in roots if path.startswith(r))
sys.addaudithook(record)
for package in ("engine", "gui"):
    for module in pkgutil.walk_packages([package], prefix=package + "."):
        try:
            importlib.import_module(module.name)
        except ImportError:  # collect_submodules(on_error="ignore") leaves it out too
            pass
for library, names in json.loads(sys.argv[1]).items():
    module = importlib.import_module(library)
    for name in names:
        getattr(module, name)
print(json.dumps(sorted(opened)))
"""


def _library_imports() -> dict[str, list[str]]:
    """{top-level library: names the app imports from it} over every import in the app,
    less the libraries only the dev extra installs (scikit-image for `python -m
    engine.train`): no command of the bundle imports them, and a bundle built without the
    extra lacks them."""
    import importlib.metadata

    import tomllib
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    found: dict[str, set[str]] = {}
    for path in APP_SOURCES:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found.setdefault(alias.name.split(".")[0], set())
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = found.setdefault(node.module.split(".")[0], set())
                if "." not in node.module:  # `from transformers import X`: a lazy name
                    names |= {alias.name for alias in node.names}
    ours = {"engine", "gui", "main", "__future__"} | set(sys.stdlib_module_names)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    dev = {canonicalize_name(Requirement(r).name) for r in project["optional-dependencies"]["dev"]}
    owners = importlib.metadata.packages_distributions()

    def dev_only(library: str) -> bool:
        names = {canonicalize_name(d) for d in owners.get(library, [])}
        return bool(names) and names <= dev

    return {
        library: sorted(names)
        for library, names in found.items()
        if library not in ours and not dev_only(library)
    }


def test_data_files_libraries_open_themselves_are_collected():
    """A library file that is not code, opened by the library itself (by path from
    `__file__`, or through importlib.resources) is not found by analysis: the bundle fails
    where it is read (kernels' python_depends.json, read when transformers imports it, took
    every Stable Diffusion pipeline down). The oracle is what the libraries really open while
    the bundle's imports run, as an audit hook sees it. Package metadata (*.dist-info) is
    METADATA's business; files Qt opens itself do not pass through Python's audit hook."""
    libraries = _library_imports()
    assert "diffusers" in libraries and "pyqtgraph" in libraries  # lazily imported ones too
    done = subprocess.run(
        [sys.executable, "-c", _RECORD_LIBRARY_READS, json.dumps(libraries)],
        cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    opened = json.loads(done.stdout.splitlines()[-1])
    data_files = [
        path
        for path in opened
        if not path.endswith((".py", ".pyc"))
        and not path.split(os.sep)[0].endswith(".dist-info")
        and "__pycache__" not in path
    ]
    assert any(path.startswith("diffusers" + os.sep) for path in opened)  # the hook sees them
    not_collected = [p for p in data_files if p.split(os.sep)[0] not in CONTENTS["DATA_PACKAGES"]]
    assert not not_collected, not_collected


def test_nothing_the_app_imports_is_excluded():
    imported: dict[str, set[str]] = {}  # module -> the files that import it
    for path in APP_SOURCES:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            for name in names:
                imported.setdefault(name, set()).add(path.relative_to(ROOT).as_posix())
    optional = CONTENTS["OPTIONAL_IMPORTERS"]
    for excluded in CONTENTS["EXCLUDES"]:
        clash = [
            (m, sorted(files))
            for m, files in imported.items()
            if (m == excluded or m.startswith(excluded + "."))
            and any(not f.startswith(optional.get(excluded, "\0") + "/") for f in files)
        ]
        assert not clash, clash


def test_the_spec_reads_the_lists_and_the_hook():
    spec = (ROOT / "packaging" / "latentstudio.spec").read_text("utf-8")
    assert "bundle_contents.py" in spec and "rthook_latentstudio.py" in spec
    assert (ROOT / "packaging" / "rthook_latentstudio.py").is_file()
    assert CONTENTS["APP_NAME"].lower() != CONTENTS["CLI_NAME"].lower()  # Windows, macOS


def _run_hook(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    script = (
        "import runpy, sys\n"
        "sys.stdout = sys.stderr = None\n"  # as a windowed bundle starts on Windows
        f"runpy.run_path({str(ROOT / 'packaging' / 'rthook_latentstudio.py')!r})\n" + code
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_runtime_hook_logs_to_a_file_when_there_is_no_console(tmp_path):
    done = _run_hook(
        "print('hello from a window'); import os; print(os.environ['HF_HUB_OFFLINE'])", tmp_path
    )
    assert done.returncode == 0, done.stderr
    logs = list(tmp_path.rglob("latentstudio.log"))
    assert len(logs) == 1
    assert logs[0].read_text("utf-8").splitlines()[-2:] == ["hello from a window", "1"]


def test_the_runtime_hook_can_cut_the_network(tmp_path):
    code = (
        "import socket\n"
        "try:\n    socket.create_connection(('127.0.0.1', 9), timeout=1)\n"
        "except OSError as exc:\n    raise SystemExit(str(exc))\n"
    )
    done = _run_hook(code, tmp_path, LATENTSTUDIO_NO_NETWORK="1")
    assert done.returncode != 0
    [log] = tmp_path.rglob("latentstudio.log")  # stderr is the log: there is no console
    assert "network disabled" in log.read_text("utf-8")


def test_quit_when_shown_paints_the_window_and_exits_0(tmp_path):
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "LATENTSTUDIO_CACHE_DIR": str(tmp_path / "cache"),
        "LATENTSTUDIO_DATA_DIR": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "HOME": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "main.py", "--quit-when-shown"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    shown = [line for line in done.stdout.splitlines() if line.startswith("shown ")]
    assert len(shown) == 1 and float(shown[0].split()[1]) > 0


def test_the_desktop_file_starts_the_app_with_its_icon():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(ROOT / "packaging" / "latentstudio.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Terminal"] == "false"
    assert desktop["Exec"].split()[0] == CONTENTS["APP_NAME"]
    assert desktop["Icon"] == "latentstudio" and (ROOT / "resources" / "icon.png").is_file()
    assert "Graphics" in desktop["Categories"].split(";")


def _ci_make_targets(tmp_path: Path, **env: str) -> list[str]:
    """The make targets .ci/run asks for, with a stand-in `make` that only records them."""
    fake = tmp_path / "bin" / "make"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "targets"}\n')
    fake.chmod(0o755)
    clean = {k: v for k, v in os.environ.items() if k != "PACKAGE"}
    path = f"{fake.parent}{os.pathsep}{os.environ['PATH']}"
    done = subprocess.run(
        ["bash", str(ROOT / ".ci" / "run")], env={**clean, "PATH": path, **env}, timeout=60
    )
    assert done.returncode == 0
    return (tmp_path / "targets").read_text("utf-8").split()


def test_ci_builds_the_bundle_and_runs_its_self_test_by_default(tmp_path):
    """The bundle is what users double-click: CI builds it and runs its offline self-test
    on every submission, after the tests. PACKAGE=0 skips it on a local run."""
    assert _ci_make_targets(tmp_path) == ["test", "lint", "package", "package-selftest"]


def test_ci_can_skip_the_bundle_locally(tmp_path):
    assert _ci_make_targets(tmp_path, PACKAGE="0") == ["test", "lint"]
