"""The station side of sync: uplink of the outbox, downlink from HQ's log, the link loop."""
