"""The Stable Diffusion family: diffusers pipelines from the user's model files.

The registry imports `engine.models.sd.runners` on the first Stable Diffusion job; that
module sets up the hugging-face libraries for offline use before importing them.
"""
