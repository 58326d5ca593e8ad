"""The PixelCNN family: a gated PixelCNN (van den Oord et al. 2016) that writes an image
pixel by pixel, each from a softmax over its levels given the pixels before it (its
network, pixels, sampling, files, training and runners).

The registry imports `engine.models.pixelcnn.runners` on the first PixelCNN job.
"""
