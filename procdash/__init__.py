"""procdash: a Procfile runner with a live Textual dashboard."""

__version__ = "0.1.0"
