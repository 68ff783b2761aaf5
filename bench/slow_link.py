"""Slow-link benchmark: a station drains its backlog to HQ over an emulated 4G-class backhaul
(a userspace relay between the station and Mosquitto: ~800 ms round trip with jitter, a 30 kbit/s
cap each way, a third of the packets held back as if retransmitted). HQ is an in-process worker
on SQLite, on a clean link to the broker.

The baseline, in the same run, is the link itself: the bytes the relay delivered from the
station towards the broker. `slow_link_goodput_ratio` is the acked event bytes (each event's
JSON as a batch carries it) over those bytes: what is left goes to MQTT framing, envelopes,
signatures, acks of the downlink, keepalives, and anything sent twice. `longest_ack_gap_s` is
the longest time without an ack from HQ while events waited; `control_wait_s` how long a small
control message (the station's ack of a downlink message HQ sent once the bulk flowed) took to
reach HQ behind the bulk; `link_use_ratio` the acked event rate over the link's cap.

A downlink backlog at the same time (`--downlink N`) is not yet paced by HQ: see
docs/protocol.md, "Flow control on a slow link".

Usage: python bench/slow_link.py [--quick] [--events N] [--downlink N] [--timeout S]
Headline figures come last, one per line: acked_kbit_s=, link_use_ratio=, control_wait_s=,
longest_ack_gap_s=, slow_link_goodput_ratio=.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.sync.slow_link import FOUR_G, run_slow_link  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller backlog (ends within ~30 s)")
    parser.add_argument("--events", type=int, help="events in the backlog (default 600; 150 with --quick)")
    parser.add_argument("--downlink", type=int, default=0,
                        help="member snapshots (about 1 kB each) HQ has queued for the station as well (default 0)")
    parser.add_argument("--timeout", type=float, default=600, help="give up after this many seconds (default 600)")
    args = parser.parse_args()
    events = args.events or (150 if args.quick else 600)
    with tempfile.TemporaryDirectory(prefix="station-edge-slow-link-") as work:
        run = run_slow_link(Path(work), events=events, downlink=args.downlink, timeout=args.timeout)
    print(f"link: {FOUR_G}")
    print(f"events {run.acked}/{run.events} acked in {run.seconds:.1f} s; acked event bytes {run.acked_event_bytes}; "
          f"bytes the link delivered upwards {run.delivered_up_bytes}")
    acked_bps = run.acked_event_bytes * 8 / run.seconds
    print(f"acked_kbit_s={acked_bps / 1000:.1f}")
    print(f"link_use_ratio={acked_bps / FOUR_G['bandwidth_bps']:.2f}")
    print(f"control_wait_s={run.control_wait_s:.1f}" if run.control_wait_s is not None else "control_wait_s=never")
    print(f"longest_ack_gap_s={run.longest_ack_gap_s:.1f}")
    print(f"slow_link_goodput_ratio={run.goodput_ratio:.2f}")


if __name__ == "__main__":
    main()
