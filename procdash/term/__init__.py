"""Terminal byte-level pieces shared by the dashboard and ``procdash connect``: key encoding, escapes, raw relay."""
