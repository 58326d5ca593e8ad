"""The DDPM family: a small U-Net that predicts the noise added to an image.

The registry imports `engine.models.ddpm.runners` on the first DDPM job (diffusers comes
with it: its schedulers do the noising and the DDIM/DDPM steps).
"""
