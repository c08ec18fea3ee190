"""Tests for the control socket, its protocol and `procdash ctl`."""
