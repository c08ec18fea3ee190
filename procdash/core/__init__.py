"""The headless engine: parsing, processes, supervision; never imports textual or rich."""
