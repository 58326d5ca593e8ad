"""Super-resolution: community upscaler files through spandrel, our bundled lite models
(the same architecture, so one loader serves both), tiled inference and plain resampling."""
