"""Control for Stable Diffusion (issue 22): ControlNet, T2I-Adapter and IP-Adapter files,
the preprocessors that turn a picture into a control map, and the pipelines that use them."""
