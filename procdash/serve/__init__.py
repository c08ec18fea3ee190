"""``procdash serve``: the dashboard in a browser, through textual-serve, behind a token and Host/Origin checks."""
