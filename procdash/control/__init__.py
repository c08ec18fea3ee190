"""Control a running procdash over a private Unix socket (``procdash ctl``)."""
