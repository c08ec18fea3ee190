"""Writers that hand the formation to real engines: systemd, supervisord, Compose, Kubernetes."""
