"""The station's sync process killed with SIGKILL at random points, again and again.

`python -m tests.sync.kill_station DATA_DIR SETTINGS_JSON ROUNDS SEED` forks a child per round
(the imports are paid once), lets it sync for a random moment, then kills it with SIGKILL.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import threading
import time

from edge.config import SyncSettings
from edge.services.station import open_station
from sync.station.client import StationSync


def main(data_dir: str, settings_json: str, rounds: int, seed: int) -> None:
    settings = SyncSettings(**json.loads(settings_json))
    rng = random.Random(seed)
    for _ in range(rounds):
        pid = os.fork()
        if pid == 0:  # the child: a whole station sync process until it is killed
            StationSync(open_station(data_dir), settings).run(threading.Event())
            os._exit(0)
        time.sleep(rng.uniform(0.01, 0.15))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
