"""moto's server, as `python -m moto.server` starts it, but as slow as AWS where a resource asks
for it (moto_realism.py): the harness starts this when there is no moto pool.

    python3 moto_server.py -H 127.0.0.1 -p PORT
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import moto_realism  # noqa: E402

import moto.server  # noqa: E402

if __name__ == "__main__":
    moto_realism.apply()
    moto.server.main(sys.argv[1:])
