"""TFX components of tfx-seqgen: Beam data generators for the LCD and ART tasks.

The names below are imported on first use (tfx_seqgen.lazy): the light
modules (`lcd_data`, `art_data`, `validation`) load without TFX.
"""

from tfx_seqgen import lazy

_EXPORTS = {
    "ArtDataset": "art_data",
    "ArtExampleGen": "example_gen",
    "InvalidParameterError": "validation",
    "LcdDataset": "lcd_data",
    "LcdExampleGen": "example_gen",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy.exports(__name__, _EXPORTS)
