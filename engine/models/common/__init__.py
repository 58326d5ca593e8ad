"""Code the model families share: model files (safetensors + JSON record)."""
