"""The GAN family: a generator against a discriminator (DCGAN-style training).

The registry imports `engine.models.gan.runners` on the first GAN job; that registers
the shared latent runners (engine.models.common.latent_runners, through the adapter in
`latent`) and the GAN's own.
"""
