"""Screens pushed over the dashboard: help and quitting progress."""
