"""Requests: what a job asks the engine for, built from the typed parts in engine.api.parts.

One module per kind of work (sd, lab, latent, train, upscale) on a shared base; recipes
turns any of them into an image's recipe JSON and back. Importing this package registers
every request class by its task, so `request_from_dict` can read any of them.
"""

from engine.api.requests.base import (
    INTERPOLATION_MODES,
    REQUEST_TYPES,
    LiveRequest,
    ModelRequest,
    Request,
    image_name,
)
from engine.api.requests.control_map import ControlMapRequest
from engine.api.requests.lab import (
    ComponentsRequest,
    DiffuseRequest,
    ForwardNoiseRequest,
    GibbsRequest,
    PixelsRequest,
    ReconstructRequest,
    SampleRequest,
    ScoreRequest,
)
from engine.api.requests.latent import (
    ArithmeticRequest,
    DecodeRequest,
    InterpolateRequest,
    LatentAxesRequest,
    SeedLatentRequest,
)
from engine.api.requests.recipes import request_from_dict, request_from_v1, request_to_dict
from engine.api.requests.sd import LatentWalkRequest, Txt2ImgRequest
from engine.api.requests.train import TrainRequest
from engine.api.requests.upscale import DescribeModelRequest, UpscaleRequest
from engine.api.requests.xyz import XyzAxis, XyzPlotRequest

__all__ = [
    "INTERPOLATION_MODES",
    "REQUEST_TYPES",
    "ArithmeticRequest",
    "ComponentsRequest",
    "ControlMapRequest",
    "DecodeRequest",
    "DescribeModelRequest",
    "DiffuseRequest",
    "ForwardNoiseRequest",
    "GibbsRequest",
    "InterpolateRequest",
    "LatentAxesRequest",
    "LatentWalkRequest",
    "LiveRequest",
    "PixelsRequest",
    "ModelRequest",
    "ReconstructRequest",
    "Request",
    "SampleRequest",
    "ScoreRequest",
    "SeedLatentRequest",
    "TrainRequest",
    "Txt2ImgRequest",
    "UpscaleRequest",
    "XyzAxis",
    "XyzPlotRequest",
    "image_name",
    "request_from_dict",
    "request_from_v1",
    "request_to_dict",
]
