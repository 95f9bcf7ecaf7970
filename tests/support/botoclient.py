"""botocore clients made once per process and reused.

A fresh botocore session parses the service's model again: about 0.4 s of
CPU for EC2.  The instance stand-in asks EC2 what runs four times a second
and the tests' waits ask EC2 and S3 what is left twice a second, so fresh
clients kept both cores busy for nothing.  One session (sessions are not
thread-safe: made under a lock) and one client per distinct set of
arguments (clients are thread-safe) cost the parse once."""
import threading

import botocore.session
from botocore.config import Config

_lock = threading.Lock()
_session = None
_clients = {}


def _comparable(v):
    # A Config's repr names its address, not its options.
    return sorted(v._user_provided_options.items()) if isinstance(v, Config) else v


def client(service, **kw):
    """botocore's create_client(service, **kw), made once per arguments."""
    global _session
    key = (service, repr(sorted((k, _comparable(v)) for k, v in kw.items())))
    with _lock:
        c = _clients.get(key)
        if c is None:
            if _session is None:
                _session = botocore.session.get_session()
            c = _clients[key] = _session.create_client(service, **kw)
        return c
