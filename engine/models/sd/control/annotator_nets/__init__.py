"""The annotator networks some control preprocessors need (pose, depth, segmentation),
one module each, loaded from the file the user already has (never downloaded).

Each module has:
    FILES: tuple[str, ...]   the file names other tools give its weights
    load(path: Path, device: torch.device) -> Any     a checked, ready network
    run(net: Any, rgb: np.ndarray, settings: Mapping[str, float]) -> np.ndarray
        the H x W x 3 uint8 control map of an H x W x 3 uint8 RGB image, at its size
annotators.py finds the file and names the module; preprocessors.py runs it.
"""
