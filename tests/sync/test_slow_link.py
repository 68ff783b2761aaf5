"""A station's backlog over an emulated slow, lossy backhaul (about 800 ms round trip with jitter,
a 20 kbit/s cap, a third of the packets held back as if retransmitted): acks keep coming while
events wait, a small control message is not stuck behind the bulk, and most of what crosses the
link is events HQ acks, not copies of batches paho still held."""

from __future__ import annotations

from tests.sync.slow_link import FOUR_G, run_slow_link


def test_a_slow_lossy_link_makes_steady_progress_and_carries_mostly_acked_events(tmp_path):
    # one stream, so that the whole backlog would be a few large batches without flow control
    run = run_slow_link(tmp_path, events=450, impairment={**FOUR_G, "bandwidth_bps": 20_000}, timeout=300,
                        types=("payment.received",))
    assert run.acked == run.events
    # bounds with a wide margin (they measured under 10 s); tested here because they are the goal
    assert run.longest_ack_gap_s <= 60, run
    assert run.control_wait_s is not None and run.control_wait_s <= 30, run
    assert run.goodput_ratio >= 0.5, run  # acked event bytes / bytes the link delivered upwards
