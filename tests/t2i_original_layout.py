"""TencentARC's original T2I-Adapter layout, written from literal name tables.

The tables are those of diffusers' scripts/convert_original_t2iadapter.py (which maps
the official 4-level, 2-block full adapter and the 4-block light adapter) cut down to
the tiny adapters the tests build: T2IAdapter(channels=[32, 64], num_res_blocks=2), full
and light. Each row: the original module <- diffusers' module; both have weight and bias.
"""

from __future__ import annotations

from diffusers import T2IAdapter

TINY = {"channels": [32, 64], "num_res_blocks": 2, "downscale_factor": 8}

FULL = {
    "conv_in": "adapter.conv_in",
    "body.0.block1": "adapter.body.0.resnets.0.block1",
    "body.0.block2": "adapter.body.0.resnets.0.block2",
    "body.1.block1": "adapter.body.0.resnets.1.block1",
    "body.1.block2": "adapter.body.0.resnets.1.block2",
    "body.2.in_conv": "adapter.body.1.in_conv",
    "body.2.block1": "adapter.body.1.resnets.0.block1",
    "body.2.block2": "adapter.body.1.resnets.0.block2",
    "body.3.block1": "adapter.body.1.resnets.1.block1",
    "body.3.block2": "adapter.body.1.resnets.1.block2",
}

LIGHT = {
    "body.0.in_conv": "adapter.body.0.in_conv",
    "body.0.body.0.block1": "adapter.body.0.resnets.0.block1",
    "body.0.body.0.block2": "adapter.body.0.resnets.0.block2",
    "body.0.body.1.block1": "adapter.body.0.resnets.1.block1",
    "body.0.body.1.block2": "adapter.body.0.resnets.1.block2",
    "body.0.out_conv": "adapter.body.0.out_conv",
    "body.1.in_conv": "adapter.body.1.in_conv",
    "body.1.body.0.block1": "adapter.body.1.resnets.0.block1",
    "body.1.body.0.block2": "adapter.body.1.resnets.0.block2",
    "body.1.body.1.block1": "adapter.body.1.resnets.1.block1",
    "body.1.body.1.block2": "adapter.body.1.resnets.1.block2",
    "body.1.out_conv": "adapter.body.1.out_conv",
    "body.2.in_conv": "adapter.body.2.in_conv",
    "body.2.body.0.block1": "adapter.body.2.resnets.0.block1",
    "body.2.body.0.block2": "adapter.body.2.resnets.0.block2",
    "body.2.body.1.block1": "adapter.body.2.resnets.1.block1",
    "body.2.body.1.block2": "adapter.body.2.resnets.1.block2",
    "body.2.out_conv": "adapter.body.2.out_conv",
}


def to_original(adapter: T2IAdapter) -> dict:
    """The tiny adapter's tensors under the original names (every tensor placed once)."""
    table = LIGHT if adapter.config.adapter_type == "light_adapter" else FULL
    state = {k: v.detach().clone().contiguous() for k, v in adapter.state_dict().items()}
    out = {
        f"{original}.{part}": state.pop(f"{diffusers_name}.{part}")
        for original, diffusers_name in table.items()
        for part in ("weight", "bias")
    }
    assert not state, f"the table misses {sorted(state)}"
    return out
