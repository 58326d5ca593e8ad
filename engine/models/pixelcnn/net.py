"""The gated PixelCNN (van den Oord et al. 2016): masked convolutions in two stacks.

A vertical stack sees the rows above a pixel (its input is shifted down one row, and its
(k//2 + 1) x k kernel reaches no lower than its own row); a horizontal stack sees the
pixels to the left in the pixel's own row (a 1 x (k//2 + 1) kernel padded on the left),
and takes the vertical stack's features at each layer. Together they see every earlier
pixel: the first PixelCNN's single masked kernel had a blind spot up and to the right.
Each layer is gated, tanh(a) · σ(b), and the horizontal stack is residual. A layer may
be dilated (its taps d pixels apart, the last still at the pixel's own row or column), so
that a few layers see a whole 32 x 32 shape; the masks are the same.

Colour (van den Oord et al. 2016, "Pixel Recurrent Neural Networks", section 3.4): the
features of the horizontal stack are split into a share for R, for G and for B. At the
pixel's own position a share may read only the shares before it (the first layer, mask
"A": R reads nothing of the pixel, G its R, B its R and G) or up to itself (later
layers, mask "B"); the logits of channel c come from share c. So p(R) p(G | R) p(B | R, G)
at every pixel, given all earlier pixels. Grey images have one share: mask A hides the
pixel itself, mask B lets a feature read its own position.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - the conventional torch alias

from engine.models.pixelcnn.pixels import PixelcnnConfig


def shares(features: int, channels: int) -> torch.Tensor:
    """Which channel's share each of `features` features is: contiguous blocks."""
    return torch.arange(features) * channels // features


def gated_shares(features: int, channels: int) -> torch.Tensor:
    """The shares of a gated layer's 2F outputs, [a, b]: a_j and b_j in the same share."""
    return shares(features, channels).repeat(2)


class ChannelMasked(nn.Conv2d):
    """A convolution whose tap at the pixel's own position (the last column of a
    left-padded 1 x k kernel, or a 1 x 1 kernel) links an output share only to the input
    shares before it (mask A) or up to it (mask B); earlier pixels are read whole. Dilated
    by d, its taps are d columns apart, the last still the pixel's own."""

    def __init__(
        self,
        inputs: torch.Tensor,
        outputs: torch.Tensor,
        width: int,
        strict: bool,
        dilation: int = 1,
    ) -> None:
        super().__init__(len(inputs), len(outputs), (1, width), dilation=dilation)
        after = outputs[:, None] > inputs[None, :]
        allowed = after if strict else after | (outputs[:, None] == inputs[None, :])
        mask = torch.ones_like(self.weight)
        mask[:, :, 0, -1] = allowed.to(mask.dtype)
        self.register_buffer("mask", mask, persistent=False)
        self.pad = (width - 1) * dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded = F.pad(x, (self.pad, 0, 0, 0))
        return F.conv2d(padded, self.weight * self.mask, self.bias, dilation=self.dilation)


class VerticalConv(nn.Conv2d):
    """A (k//2 + 1) x k kernel whose lowest row is the output's own row (dilated by d:
    its taps d rows and columns apart)."""

    def __init__(self, inputs: int, outputs: int, kernel: int, dilation: int = 1) -> None:
        super().__init__(inputs, outputs, (kernel // 2 + 1, kernel), dilation=dilation)
        half = kernel // 2 * dilation
        self.pads = (half, half, half, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, self.pads))


def gate(x: torch.Tensor) -> torch.Tensor:
    a, b = x.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    def __init__(self, config: PixelcnnConfig, index: int) -> None:
        super().__init__()
        c, f, k = config.channels, config.width, config.kernel
        first, d = index == 0, config.dilation(index)
        inputs = torch.arange(c) if first else shares(f, c)
        self.vertical = VerticalConv(c if first else f, 2 * f, k, d)
        self.horizontal = ChannelMasked(inputs, gated_shares(f, c), k // 2 + 1, first, d)
        # The vertical stack's features know only rows above: every share may read them.
        self.vertical_to_horizontal = nn.Conv2d(2 * f, 2 * f, 1)
        self.out = ChannelMasked(shares(f, c), shares(f, c), 1, strict=False)
        self.first = first

    def forward(self, v: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v_pre = self.vertical(v)
        return gate(v_pre), self.horizontal_step(h, v_pre)

    def horizontal_step(self, h: torch.Tensor, v_pre: torch.Tensor) -> torch.Tensor:
        """The horizontal stack's next features, given the vertical stack's (v_pre)."""
        h_pre = self.horizontal(h) + self.vertical_to_horizontal(v_pre)
        h_new = self.out(gate(h_pre))
        return h_new if self.first else h + h_new


class PixelCnn(nn.Module):
    """Levels N x C x H x W (int) to logits N x C x L x H x W of each pixel value given
    the pixels before it (and, in colour, the channels before it)."""

    def __init__(self, config: PixelcnnConfig) -> None:
        super().__init__()
        config.check()
        self.config = config
        c, f = config.channels, config.width
        self.layers = nn.ModuleList(GatedLayer(config, i) for i in range(config.layers))
        head_shares = shares(config.head, c)
        self.head = ChannelMasked(shares(f, c), head_shares, 1, strict=False)
        logit_shares = torch.arange(c).repeat_interleave(config.levels)
        self.logits = ChannelMasked(head_shares, logit_shares, 1, strict=False)

    def scaled(self, levels: torch.Tensor) -> torch.Tensor:
        return levels.to(self.logits.weight.dtype) / (self.config.levels - 1) * 2 - 1

    def forward(self, levels: torch.Tensor) -> torch.Tensor:
        x = self.scaled(levels)
        v = F.pad(x, (0, 0, 1, 0))[:, :, : x.shape[2]]  # shifted down: row i sees rows above
        hx = x
        for layer in self.layers:
            v, hx = layer(v, hx)
        return self.output(hx)

    def output(self, hx: torch.Tensor) -> torch.Tensor:
        """N x C x L x H x W logits from the horizontal stack's last features."""
        n, _, h, w = hx.shape
        out = self.logits(F.elu(self.head(F.elu(hx))))  # ELU: no dead units
        return out.reshape(n, self.config.channels, self.config.levels, h, w)

    def vertical_features(self, levels: torch.Tensor) -> list[torch.Tensor]:
        """Each layer's vertical pre-activations (N x 2F x H x W): they read only the
        rows above, so the pixels of a row being drawn cannot change them."""
        x = self.scaled(levels)
        v, found = F.pad(x, (0, 0, 1, 0))[:, :, : x.shape[2]], []
        for layer in self.layers:
            found.append(layer.vertical(v))
            v = gate(found[-1])
        return found

    def horizontal_logits(self, row: torch.Tensor, v_pres: list[torch.Tensor]) -> torch.Tensor:
        """The logits of a strip of one row (levels N x C x 1 x W), given the vertical
        features at those pixels (from vertical_features): the same as forward's there."""
        hx = self.scaled(row)
        for layer, v_pre in zip(self.layers, v_pres, strict=True):
            hx = layer.horizontal_step(hx, v_pre)
        return self.output(hx)

    def log_prob(self, levels: torch.Tensor) -> torch.Tensor:
        """log p(x) of each image (natural log): the sum over its pixel values."""
        return pixel_log_probs(self(levels), levels).flatten(1).sum(1)


def pixel_log_probs(logits: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """N x C x H x W: log p(x_value | everything before it), from the logits."""
    return logits.log_softmax(2).gather(2, levels.unsqueeze(2)).squeeze(2)
