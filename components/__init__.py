"""TFX components of tfx-seqgen: Beam data generators for the LCD and ART tasks."""

from tfx_seqgen.components.art_data import ArtDataset
from tfx_seqgen.components.example_gen import ArtExampleGen, LcdExampleGen
from tfx_seqgen.components.lcd_data import LcdDataset
from tfx_seqgen.components.validation import InvalidParameterError

__all__ = ["ArtDataset", "ArtExampleGen", "InvalidParameterError", "LcdDataset", "LcdExampleGen"]
