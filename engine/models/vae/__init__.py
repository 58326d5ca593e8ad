"""The VAE family: a small MLP variational autoencoder (net), its files, training and runners.

The registry imports `engine.models.vae.runners` on the first VAE job; that registers
the shared latent runners (engine.models.common.latent_runners, through the adapter in
`latent`) and the VAE's own.
"""
