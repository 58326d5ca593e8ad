"""The Upscale mode: its panel (gui.upscale.panel.UpscalePanel) and its parts by concept."""
