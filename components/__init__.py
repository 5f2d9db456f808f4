"""TFX components of tfx-seqgen: Beam data generators for the LCD and ART tasks."""

from components.art_data import ArtDataset
from components.example_gen import ArtExampleGen, LcdExampleGen
from components.lcd_data import LcdDataset
from components.validation import InvalidParameterError

__all__ = ["ArtDataset", "ArtExampleGen", "InvalidParameterError", "LcdDataset", "LcdExampleGen"]
